"""Texts of the demo corpus (all original, written for newsmon). ``build.py`` renders them into
``site/`` with each outlet's boilerplate. Events reported in both languages share an ``event``
key (for reference only; nothing reads it at run time)."""

OUTLETS = {
    "harbour": {"name": "The Harbour Ledger", "lang": "en", "feed": "rss", "path": "harbour/2026/11"},
    "dispatch": {"name": "Northern Dispatch", "lang": "en", "feed": "atom", "path": "dispatch/articles"},
    "bote": {"name": "Rheinischer Bote", "lang": "de", "feed": "rss", "path": "bote/wirtschaft", "charset": "iso-8859-1"},
    "technik": {"name": "Technikblatt", "lang": "de", "feed": "atom", "path": "technikblatt/artikel"},
    "valley": {"name": "Valley Wire", "lang": "en", "feed": "rss", "path": "valley/stories"},
}

ARTICLES = [
    # ---------------------------------------------------------------- E1 self-sufficiency target
    dict(slug="china-chip-self-sufficiency-2028", outlet="harbour", event="E1", date="2026-11-24T08:10:00Z",
         author="Priya Raman", title="Beijing sets 2028 deadline for chip self-sufficiency",
         body=[
             "China wants to reach a self-sufficiency rate of 70 percent in semiconductors by 2028, according to an industrial policy paper released in Beijing on Monday. The document sets out cheaper loans for domestic chipmakers and asks state-owned buyers to prefer local suppliers when they replace data centre hardware.",
             "Foreign equipment vendors reacted cautiously. Several of them still earn a large part of their revenue in China, and the paper makes clear that imported tools are meant to be phased out where a domestic alternative exists. Analysts in Singapore said the target was ambitious for leading-edge logic chips but realistic for older process nodes used in cars and appliances.",
             "The plan also names packaging and memory as priorities. Officials argued that the country's dependence on imported high-bandwidth memory had become a strategic weakness after this year's export restrictions.",
         ]),
    dict(slug="peking-selbstversorgung-halbleiter", outlet="bote", event="E1", date="2026-11-24T11:30:00Z",
         author="Jörg Weißmüller", title="Peking will bei Halbleitern unabhängig werden",
         body=[
             "China will bis 2028 einen Selbstversorgungsgrad von 70 Prozent bei Halbleitern erreichen. Das geht aus einem Strategiepapier hervor, das am Montag in Peking vorgestellt wurde. Heimische Chiphersteller sollen günstige Kredite erhalten, staatliche Unternehmen sollen beim Austausch ihrer Rechenzentren einheimische Anbieter bevorzugen.",
             "Für deutsche Maschinenbauer ist das eine schlechte Nachricht. Viele Zulieferer der Chipindustrie erzielen einen erheblichen Teil ihres Umsatzes in China. Ein Sprecher des Branchenverbands in Frankfurt sagte, man nehme das Papier ernst, auch wenn der Rückstand bei den modernsten Fertigungsverfahren noch mehrere Jahre betrage.",
             "Neben der Fertigung nennt der Plan auch Speicherchips und die Verpackung von Chips als Schwerpunkte. Die Abhängigkeit von importiertem Speicher gilt in Peking seit den Exportbeschränkungen dieses Jahres als strategische Schwäche.",
         ]),
    # ---------------------------------------------------------------- E2 Ascend 910C performance
    dict(slug="ascend-910c-benchmark", outlet="dispatch", event="E2", date="2026-11-25T06:40:00Z",
         author="Tom Achebe", title="Huawei's Ascend 910C closes part of the gap to Nvidia",
         body=[
             "Independent tests published on Tuesday suggest that the Ascend 910C reaches about 60 % of the H100's inference performance on popular language models. The researchers ran the same open models on both accelerators and measured tokens per second at equal batch sizes.",
             "The result is better than many Western analysts expected a year ago, but the gap remains significant for training, where the Huawei chip was slower and less stable across large clusters. Software is the other bottleneck: developers said porting code from CUDA still takes weeks.",
             "For Chinese cloud providers the numbers are good enough. With Nvidia's most capable parts out of reach because of export controls, several of them have already placed large orders for the 910C and its successor, which is expected next year.",
         ]),
    dict(slug="ascend-910c-leistungstest", outlet="technik", event="E2", date="2026-11-25T09:05:00Z",
         author="Miriam Schäfer", title="Huawei-Beschleuniger Ascend 910C im Leistungstest",
         body=[
             "Der KI-Beschleuniger Ascend 910C von Huawei erreicht bei der Inferenz rund 60 Prozent der Leistung von Nvidias H100. Das zeigen unabhängige Messungen, die am Dienstag veröffentlicht wurden. Die Forscher ließen dieselben offenen Sprachmodelle auf beiden Chips laufen und verglichen die erzeugten Token pro Sekunde.",
             "Beim Training großer Modelle fällt der Abstand deutlich größer aus. Zudem berichten Entwickler, dass die Portierung von Software, die für Nvidias CUDA geschrieben wurde, weiterhin Wochen dauert.",
             "Für chinesische Cloud-Anbieter reicht die Leistung dennoch. Weil Nvidias leistungsstärkste Chips wegen der Exportkontrollen nicht geliefert werden dürfen, haben mehrere Anbieter bereits große Stückzahlen des 910C bestellt.",
         ]),
    # ---------------------------------------------------------------- E3 Qwen downloads
    dict(slug="qwen-downloads-record", outlet="dispatch", event="E3", date="2026-11-26T07:15:00Z",
         author="Lena Hart", title="Qwen becomes the most downloaded open model family",
         body=[
             "Qwen models were downloaded 1.6 million times last month, according to figures from the largest model hosting platform, putting Alibaba's open model family ahead of several well-known Western releases. Developers cite the permissive licence and strong multilingual results as the main reasons.",
             "The shift worries some policymakers in Washington, who argue that open weights spread capabilities without any export licence. Researchers counter that restrictions on publishing models would mostly hurt universities and small firms that rely on shared weights.",
             "Start-ups building on the models say the ability to run them on their own servers is decisive. It keeps customer data in-house and avoids per-token fees, they said, which matters more to them than the country the model comes from.",
         ]),
    dict(slug="qwen-downloads-rekord", outlet="technik", event="E3", date="2026-11-26T10:20:00Z",
         author="Kerstin Vogel", title="Qwen-Modelle überholen westliche Konkurrenz bei Downloads",
         body=[
             "Die offenen Sprachmodelle der Qwen-Familie wurden im vergangenen Monat 1,6 Millionen Mal heruntergeladen. Das geht aus Zahlen der größten Plattform für KI-Modelle hervor. Damit liegt das Angebot von Alibaba vor mehreren bekannten Modellen aus den USA und Europa.",
             "Entwickler nennen die freizügige Lizenz und die gute Unterstützung vieler Sprachen als Gründe. In Washington wächst dagegen die Sorge, dass offene Modelle Fähigkeiten ohne jede Exportgenehmigung verbreiten. Forscher halten dagegen, dass Beschränkungen vor allem Hochschulen und kleinen Firmen schaden würden.",
             "Deutsche Start-ups betonen, dass sie die Modelle auf eigenen Servern betreiben können. So bleiben Kundendaten im Haus, und es fallen keine Gebühren pro Anfrage an.",
         ]),
    # ---------------------------------------------------------------- E4 export controls on HBM / tools
    dict(slug="new-us-export-controls-hbm", outlet="harbour", event="E4", date="2026-11-25T13:00:00Z",
         author="Daniel Okafor", title="Washington tightens export controls on memory and chip tools",
         body=[
             "The US Commerce Department on Wednesday added high-bandwidth memory and several types of etching equipment to its export control list. Shipments to China now require a licence, which officials said would be denied in most cases. Twenty-four Chinese companies were also added to the entity list.",
             "The Netherlands and Japan said they would align their own rules within weeks, closing a gap that had allowed some suppliers to keep servicing machines already installed in Chinese fabs. Industry groups warned that the measures would cost Western suppliers billions in lost sales.",
             "Beijing condemned the decision as economic coercion and said it would respond. Trade lawyers expect China to widen its own restrictions on critical minerals used in chipmaking.",
         ]),
    dict(slug="usa-exportkontrollen-speicherchips", outlet="bote", event="E4", date="2026-11-25T15:45:00Z",
         author="Anna Lindqvist", title="USA verschärfen Exportkontrollen für Speicherchips",
         body=[
             "Die US-Regierung hat am Mittwoch Speicherchips mit hoher Bandbreite und mehrere Arten von Ätzanlagen auf ihre Exportkontrollliste gesetzt. Lieferungen nach China brauchen künftig eine Genehmigung, die nach Angaben aus Washington in den meisten Fällen verweigert werden soll. Zudem kamen 24 chinesische Unternehmen auf die sogenannte Entity List.",
             "Die Niederlande und Japan kündigten an, ihre Regeln innerhalb weniger Wochen anzupassen. Damit würde eine Lücke geschlossen, über die Zulieferer bislang Wartungsverträge für bereits installierte Anlagen erfüllen konnten. Auch deutsche Firmen wären von den neuen Regeln betroffen.",
             "Peking sprach von wirtschaftlichem Zwang und kündigte Gegenmaßnahmen an. Beobachter rechnen damit, dass China die Ausfuhr wichtiger Rohstoffe für die Chipfertigung weiter beschränkt.",
         ]),
    # ---------------------------------------------------------------- E5 EU sanctions package, re-exports
    dict(slug="eu-sanctions-chip-reexports", outlet="dispatch", event="E5", date="2026-11-24T16:30:00Z",
         author="Sofia Marin", title="EU sanctions package targets chip re-exports to Russia",
         body=[
             "European Union governments agreed on Monday on a new sanctions package aimed at Western chips that reach Russia through third countries. Distributors in Central Asia and the Caucasus will face asset freezes if they are found to re-export processors and memory modules used in drones and missiles.",
             "Customs data show that shipments of electronic components to several of Russia's neighbours rose sharply after the invasion of Ukraine. The package obliges European exporters to include a no-Russia clause in their contracts and to report suspicious orders.",
             "Diplomats said the measures were the result of months of talks, with Hungary dropping its objections after changes to the energy section of the package.",
         ]),
    dict(slug="eu-sanktionen-chips-umgehung", outlet="bote", event="E5", date="2026-11-24T18:05:00Z",
         author="Jörg Weißmüller", title="EU nimmt Umgehung von Chip-Sanktionen ins Visier",
         body=[
             "Die EU-Staaten haben sich am Montag auf ein neues Sanktionspaket geeinigt, das die Umgehung der Russland-Sanktionen über Drittstaaten erschweren soll. Händlern in Zentralasien und im Kaukasus drohen Kontosperren, wenn sie westliche Prozessoren und Speicherbausteine nach Russland weiterliefern.",
             "Nach Zolldaten sind die Ausfuhren elektronischer Bauteile in mehrere Nachbarländer Russlands seit Beginn des Krieges gegen die Ukraine stark gestiegen. Europäische Exporteure müssen künftig eine Klausel in ihre Verträge aufnehmen, die die Weitergabe nach Russland verbietet.",
             "Diplomaten zufolge hatte Ungarn seine Einwände erst nach Änderungen im Energiekapitel aufgegeben. Das Paket soll noch in dieser Woche im Amtsblatt veröffentlicht werden.",
         ]),
    # ---------------------------------------------------------------- E6 $1.2 billion packaging plant in Dresden
    dict(slug="dresden-packaging-plant-investment", outlet="harbour", event="E6", date="2026-11-26T09:00:00Z",
         author="Priya Raman", title="Chip packaging plant planned for Dresden",
         body=[
             "A Taiwanese supplier announced a $1.2 billion investment in an advanced chip packaging plant near Dresden on Thursday. The factory is meant to assemble AI accelerators and memory stacks for European customers and should employ about 900 people when it opens in 2029.",
             "Saxony's economy minister called the decision a vote of confidence in the region, which already hosts several large fabs. The company said it expects a subsidy under the European Chips Act but did not give an amount.",
             "Packaging has become a bottleneck for AI hardware because high-bandwidth memory has to sit next to the processor. Until now almost all of that capacity has been located in Taiwan.",
         ]),
    dict(slug="dresden-chipverpackung-werk", outlet="technik", event="E6", date="2026-11-26T11:40:00Z",
         author="Miriam Schäfer", title="Taiwanischer Zulieferer baut Chip-Werk bei Dresden",
         body=[
             "Ein Zulieferer aus Taiwan will 1,2 Milliarden Dollar in ein Werk für die Verpackung von Hochleistungschips bei Dresden investieren. Das teilte das Unternehmen am Donnerstag mit. Dort sollen KI-Beschleuniger und Speicherstapel für europäische Kunden montiert werden, rund 900 Arbeitsplätze sind geplant.",
             "Sachsens Wirtschaftsminister sprach von einem Vertrauensbeweis für den Standort, an dem bereits mehrere große Chipfabriken arbeiten. Das Unternehmen rechnet mit einer Förderung nach dem europäischen Chips Act, nannte aber keinen Betrag.",
             "Die Verpackung gilt als Engpass bei KI-Hardware, weil der Speicher direkt neben dem Prozessor sitzen muss. Bisher liegt fast die gesamte Kapazität in Taiwan.",
         ]),
    # ---------------------------------------------------------------- E7 European open-weights model
    dict(slug="lumen-open-weights-release", outlet="dispatch", event="E7", date="2026-11-25T10:30:00Z",
         author="Lena Hart", title="European lab releases Lumen model with open weights",
         body=[
             "A research lab in Paris released a language model called Lumen on Tuesday and published its weights under the Apache 2.0 licence. The model was trained on a supercomputer funded by the European Union and supports all 24 official EU languages.",
             "The lab said it wanted to give companies and public administrations an alternative to American and Chinese models. Within a day the code repository had collected more than 8,000 stars on GitHub, and several German universities announced plans to adapt the model for legal texts.",
             "Critics noted that the model is still behind the strongest closed systems on reasoning tests. Supporters replied that open weights allow audits and local deployment, which matters for public bodies bound by strict data rules.",
         ]),
    dict(slug="lumen-offenes-sprachmodell", outlet="technik", event="E7", date="2026-11-25T14:10:00Z",
         author="Kerstin Vogel", title="Offenes Sprachmodell Lumen aus Europa veröffentlicht",
         body=[
             "Ein Forschungslabor in Paris hat am Dienstag das Sprachmodell Lumen veröffentlicht und die Gewichte unter der Apache-2.0-Lizenz freigegeben. Trainiert wurde das Modell auf einem von der EU finanzierten Supercomputer, es beherrscht alle 24 Amtssprachen der Union.",
             "Das Labor will Unternehmen und Behörden eine Alternative zu Modellen aus den USA und China bieten. Schon nach einem Tag hatte das Code-Repository auf GitHub mehr als 8.000 Sterne. Mehrere deutsche Hochschulen wollen Lumen für juristische Texte anpassen.",
             "Kritiker verweisen darauf, dass das Modell bei Tests zum logischen Schließen hinter den stärksten geschlossenen Systemen liegt. Befürworter halten dagegen, dass offene Gewichte Prüfungen und den Betrieb auf eigenen Servern ermöglichen.",
         ]),
    # ---------------------------------------------------------------- E8 SMIC market share
    dict(slug="smic-marktanteil-reife-chips", outlet="technik", event="E8", date="2026-11-24T13:20:00Z",
         author="Miriam Schäfer", title="SMIC baut Vorsprung bei älteren Chips aus",
         body=[
             "Der chinesische Auftragsfertiger SMIC kommt bei Chips aus älteren Fertigungsverfahren inzwischen auf einen Marktanteil von 30 Prozent. Das schätzt ein Marktforschungsinstitut in Taipeh in einer am Montag veröffentlichten Studie. Vor drei Jahren lag der Anteil noch bei unter 20 Prozent.",
             "Solche Chips stecken in Autos, Haushaltsgeräten und Industriesteuerungen. Europäische Autohersteller beobachten die Entwicklung mit Sorge, weil sie bei einzelnen Bauteilen bereits von chinesischen Lieferanten abhängig sind.",
             "Die EU-Kommission hat angekündigt, die Lieferketten für diese Chips genauer zu untersuchen. Mögliche Schutzzölle seien nicht ausgeschlossen, hieß es in Brüssel.",
         ]),
    dict(slug="smic-mature-node-share", outlet="harbour", event="E8", date="2026-11-24T15:00:00Z",
         author="Daniel Okafor", title="SMIC tightens grip on mature chip market",
         body=[
             "China's largest foundry, SMIC, now holds a market share of 30 percent in chips made on mature process nodes, a research firm in Taipei estimated on Monday. Three years ago its share was below 20 percent.",
             "Mature-node chips control car brakes, washing machines and factory robots. European carmakers are increasingly worried because some components already come almost exclusively from Chinese suppliers, and prices have fallen sharply.",
             "The European Commission said it would examine supply chains for these chips more closely and did not rule out protective tariffs. Washington is running a similar review.",
         ]),
    # ---------------------------------------------------------------- E9 gallium and germanium
    dict(slug="china-gallium-germanium-ban", outlet="harbour", event="E9", date="2026-11-26T06:30:00Z",
         author="Daniel Okafor", title="China halts gallium and germanium exports to the US",
         body=[
             "China's commerce ministry on Thursday banned exports of gallium and germanium to the United States, a day after Washington widened its chip export controls. The two metals are used in power electronics, radar systems and fibre optics, and China produces most of the world's supply.",
             "Prices for gallium rose by a fifth in European trading within hours. Manufacturers said they had built up stocks after earlier licensing rules, but warned that these would last only a few months.",
             "The move shows how quickly the dispute over semiconductors is spreading to raw materials. Officials in Brussels said they were checking whether European firms would be hit indirectly.",
         ]),
    dict(slug="china-exportstopp-gallium", outlet="bote", event="E9", date="2026-11-26T08:50:00Z",
         author="Anna Lindqvist", title="China stoppt Ausfuhr von Gallium und Germanium in die USA",
         body=[
             "Das chinesische Handelsministerium hat am Donnerstag die Ausfuhr von Gallium und Germanium in die Vereinigten Staaten verboten. Die Entscheidung fiel einen Tag nachdem Washington seine Exportkontrollen für Chips ausgeweitet hatte. Beide Metalle werden für Leistungselektronik, Radaranlagen und Glasfasern gebraucht, China liefert den größten Teil der Weltproduktion.",
             "Der Preis für Gallium stieg im europäischen Handel binnen Stunden um ein Fünftel. Hersteller in Deutschland haben nach eigenen Angaben Vorräte angelegt, die aber nur einige Monate reichen.",
             "Der Streit um Halbleiter greift damit immer stärker auf Rohstoffe über. In Brüssel wird geprüft, ob europäische Unternehmen indirekt betroffen sind.",
         ]),
    # ---------------------------------------------------------------- single-language, on topic
    dict(slug="tsmc-arizona-second-fab", outlet="harbour", date="2026-11-25T17:20:00Z",
         author="Priya Raman", title="TSMC starts production at second Arizona fab",
         body=[
             "Taiwan Semiconductor Manufacturing Company began volume production at its second factory in Arizona this week, making chips on a three-nanometre process for American customers. The company said yields were close to those of its plants in Taiwan.",
             "The milestone comes after years of delays caused by labour shortages and disputes over construction permits. US officials hailed it as proof that subsidies under the CHIPS Act are working, although the most advanced production remains in Taiwan.",
         ]),
    dict(slug="nvidia-china-chip-redesign", outlet="dispatch", date="2026-11-24T12:00:00Z",
         author="Tom Achebe", title="Nvidia prepares another China-specific AI chip",
         body=[
             "Nvidia is preparing a new accelerator for the Chinese market that stays below the performance limits set by US export rules, people familiar with the plans said. It would be the company's third redesign for China in as many years.",
             "Chinese buyers have become more reluctant, however. Government guidance encourages data centres to use domestic chips, and some cloud providers say they no longer want to depend on products that can be banned at short notice.",
         ]),
    dict(slug="deepseek-github-stars", outlet="dispatch", date="2026-11-26T12:45:00Z",
         author="Lena Hart", title="DeepSeek's new reasoning model draws developers",
         body=[
             "DeepSeek published a new reasoning model with open weights on Wednesday, and its repository passed 25,000 stars on GitHub within two days. The Hangzhou company also released a detailed report on its training methods.",
             "Developers praised the low hardware requirements of the smaller versions, which run on a single consumer graphics card. Security researchers said they would examine the models for hidden behaviour, as they have done with earlier releases.",
         ]),
    dict(slug="open-source-ai-act-code", outlet="dispatch", date="2026-11-25T15:30:00Z",
         author="Sofia Marin", title="Brussels drafts rules for open-source AI models",
         body=[
             "The European Commission presented a draft code of practice on Tuesday that spells out what developers of open-source AI models must document under the AI Act. Smaller releases will mostly be exempt, while the largest models must publish summaries of their training data.",
             "Open-source foundations welcomed the exemptions but criticised the reporting burden for volunteer projects. A public consultation runs until the end of January.",
         ]),
    dict(slug="intel-magdeburg-neustart", outlet="bote", date="2026-11-25T07:30:00Z",
         author="Jörg Weißmüller", title="Neue Gespräche über Chipfabrik in Magdeburg",
         body=[
             "Die Bundesregierung und Intel verhandeln erneut über die auf Eis gelegte Chipfabrik in Magdeburg. Nach Informationen aus Regierungskreisen geht es um eine kleinere erste Ausbaustufe und um geringere Fördermittel als ursprünglich zugesagt.",
             "Sachsen-Anhalts Ministerpräsident zeigte sich zuversichtlich, dass eine Einigung noch vor dem Sommer möglich ist. Die Fläche am Stadtrand steht weiterhin bereit, die Erschließung ist weitgehend abgeschlossen.",
         ]),
    dict(slug="huawei-sanktionen-zulieferer", outlet="bote", date="2026-11-26T13:15:00Z",
         author="Anna Lindqvist", title="Deutsche Zulieferer fürchten neue Huawei-Sanktionen",
         body=[
             "Deutsche Zulieferer der Telekommunikationsbranche rechnen mit weiteren Sanktionen gegen Huawei. Nach Angaben eines Branchenverbandes prüfen die USA, auch Software-Updates für ältere Netzwerktechnik zu verbieten.",
             "Betroffen wären vor allem kleinere Firmen, die Bauteile für Mobilfunkmasten liefern. Sie fordern von der Bundesregierung Klarheit darüber, welche Geschäfte noch erlaubt sind, und eine Übergangsfrist von mindestens einem Jahr.",
         ]),
    dict(slug="ki-rechenzentrum-bayern", outlet="technik", date="2026-11-24T08:45:00Z",
         author="Kerstin Vogel", title="Bayern plant KI-Rechenzentrum mit europäischen Chips",
         body=[
             "Der Freistaat Bayern will ein Rechenzentrum für künstliche Intelligenz bauen, das möglichst mit Prozessoren aus europäischer Entwicklung arbeitet. Das Wirtschaftsministerium in München stellte die Pläne am Montag vor.",
             "Kurzfristig werde man allerdings nicht ohne Grafikprozessoren von Nvidia auskommen, räumte ein Sprecher ein. Langfristig sollen Beschleuniger europäischer Start-ups einen wachsenden Teil der Rechenleistung liefern.",
         ]),
    dict(slug="open-source-verwaltung-schleswig-holstein", outlet="technik", date="2026-11-25T16:00:00Z",
         author="Kerstin Vogel", title="Verwaltung setzt auf offene KI-Modelle",
         body=[
             "Schleswig-Holstein will in seiner Verwaltung künftig offene KI-Modelle einsetzen, die auf landeseigenen Servern laufen. Die Landesregierung begründet das mit Datenschutz und der Unabhängigkeit von großen Anbietern aus den USA.",
             "Zunächst sollen Bürgeranfragen vorsortiert und Bescheide zusammengefasst werden. Der Quellcode der Anwendungen soll auf einer öffentlichen Plattform veröffentlicht werden, damit andere Länder ihn nutzen können.",
         ]),
    dict(slug="asml-china-wartung", outlet="technik", date="2026-11-26T14:30:00Z",
         author="Miriam Schäfer", title="ASML darf Anlagen in China nicht mehr warten",
         body=[
             "Der niederländische Lithografie-Spezialist ASML darf bestimmte Anlagen in China künftig nicht mehr warten. Die Regierung in Den Haag setzte die neuen Exportregeln am Donnerstag in Kraft und folgt damit dem Vorgehen der USA.",
             "Chinesische Chiphersteller müssen nun selbst für Ersatzteile und Wartung sorgen. Fachleute erwarten, dass die Auslastung älterer Maschinen dadurch sinkt.",
         ]),
    dict(slug="korea-memory-exports-record", outlet="harbour", date="2026-11-26T15:10:00Z",
         author="Daniel Okafor", title="South Korean memory chip exports hit record",
         body=[
             "South Korea's semiconductor exports reached a record in November, driven by demand for high-bandwidth memory used in AI servers. Shipments to Taiwan and the United States grew fastest, while exports to China fell for the third month in a row.",
             "Economists said the figures showed how the export controls are redirecting trade flows. Memory makers plan to expand capacity further next year.",
         ]),
    # ---------------------------------------------------------------- off topic (incl. traps)
    dict(slug="potato-chips-flavours", outlet="harbour", date="2026-11-25T11:00:00Z", topic="other",
         author="Grace Whitfield", title="Potato chips makers bet on winter flavours",
         body=[
             "Britain's potato chips makers are launching winter flavours such as mulled wine and roast parsnip in time for the Christmas season. Supermarkets say crisps and other savoury snacks sell about a third more in December than in an average month.",
             "Food scientists warn that the new varieties contain as much salt as the classics. One manufacturer said it had reduced fat by frying at lower temperatures, and that customers in blind tastings could not tell the difference.",
         ]),
    dict(slug="bibliothek-tag-der-offenen-tuer", outlet="bote", date="2026-11-26T10:00:00Z", topic="other",
         author="Lisa Brandt", title="Stadtbibliothek lädt zum Tag der offenen Tür",
         body=[
             "Die Stadtbibliothek öffnet am Samstag ihre Türen für einen Tag der offenen Tür. Besucher können einen Blick in das Magazin werfen, in dem mehr als 200.000 Bücher lagern, und die neue Leseecke für Kinder ausprobieren.",
             "Am Nachmittag liest eine Autorin aus ihrem neuen Roman. Außerdem erklären Mitarbeiter, wie man E-Books ausleiht und den Bibliotheksausweis online verlängert. Der Eintritt ist frei.",
         ]),
    dict(slug="cup-final-penalties", outlet="dispatch", date="2026-11-24T21:30:00Z", topic="other",
         author="Marcus Reid", title="Late penalty drama decides the cup quarter-final",
         body=[
             "The quarter-final went to penalties after a goalless two hours, and the visitors held their nerve to win five to four. Their goalkeeper saved the decisive kick low to his left, sending several thousand travelling fans into celebrations.",
             "The home manager blamed tired legs after three matches in eight days. His side now has a week to recover before the league resumes.",
         ]),
    dict(slug="weihnachtsmarkt-eroeffnung", outlet="bote", date="2026-11-24T16:00:00Z", topic="other",
         author="Lisa Brandt", title="Weihnachtsmarkt öffnet trotz Regen",
         body=[
             "Trotz Dauerregen hat der Weihnachtsmarkt am Montagabend zahlreiche Besucher angelockt. Die Händler zeigten sich zufrieden, an den Glühweinständen bildeten sich lange Schlangen.",
             "Die Stadt hat in diesem Jahr die Zahl der Buden leicht erhöht und setzt auf regionale Anbieter. Der Markt ist bis zum 23. Dezember täglich ab elf Uhr geöffnet.",
         ]),
    dict(slug="winter-storm-travel", outlet="valley", date="2026-11-26T05:50:00Z", topic="other",
         author="Valley Wire staff", title="Winter storm brings travel disruption",
         body=[
             "A winter storm brought heavy snow and strong winds to the north of the country overnight, closing several mountain roads and delaying flights. Forecasters expect conditions to improve by the weekend.",
             "Rail operators advised passengers to check their connections before travelling, and schools in two counties stayed closed on Thursday.",
         ]),
    dict(slug="sourdough-bakery-award", outlet="technik", date="2026-11-25T12:30:00Z", topic="other",
         author="Lisa Brandt", title="Bäckerei gewinnt Preis für Sauerteigbrot",
         body=[
             "Eine kleine Bäckerei aus dem Allgäu hat den Preis für das beste Sauerteigbrot des Jahres gewonnen. Die Jury lobte die lange Teigführung und die kräftige Kruste.",
             "Der Inhaber backt nach eigenen Angaben seit dreißig Jahren nach demselben Rezept. Die Auszeichnung will er mit seinem Team bei einem Fest für die Kundschaft feiern.",
         ]),
]

# The syndicated copy: the same text as the first outlet's story, on another site.
SYNDICATED = dict(slug="beijing-chip-deadline", outlet="valley", copy_of="china-chip-self-sufficiency-2028",
                  date="2026-11-24T14:00:00Z", title="Beijing sets 2028 deadline for chip self-sufficiency",
                  author="Priya Raman")

# The same article in two feeds: Valley Wire's feed also links this Harbour Ledger story.
ALSO_IN_VALLEY_FEED = "dresden-packaging-plant-investment"
