"""Who imposes a sanction: the state a sanctions headline names as its actor.

"UK sanctions five Russian banks" and "US imposes blocking sanctions on Sberbank" on one day are
two events however alike their wording; so are "EU beschließt Sanktionspaket" and "China
verhängt Gegensanktionen". A headline names its sanctioning government as the subject of its
clause, followed by the verb of the measure ("UK sanctions", "USA setzen ... auf die schwarze
Liste", "EU-Staaten einigen sich", "US Treasury hits", "EU, US, UK and Canada hit"); a state
written as an attribute ("Russian banks", "russischen Rüstungsindustrie") or after a preposition
("gegen Russland") is a target, not an actor. Only articles whose title or first paragraph speak
of sanctions, bans or export controls have a sanctioner: "Germany sweetens Intel deal" has none.

The sanctioners ride in an article's terms as role keys ("!@usa", and ROLE_ANY once per article
that names any), so that a story's stored terms count them per title like any other term
(pipeline/stories/conflict.py reads them; labels and the lexical overlap leave them out).
"""

from __future__ import annotations

import re

from pipeline.stories.evidence import Evidence, evidence_in, state_keys
from pipeline.stories.state import ROLE_PREFIX, is_role_key

ROLE_ANY = "!*"  # counted once per title that names any sanctioner
SANCTIONER_PREFIX = ROLE_PREFIX + "@"  # "!@usa": the role prefix before a state's entity key
LEAD_CHARS = 400  # the first paragraph or so: where a report says what the measure is
TITLE_CHARS = 300  # a headline; a runaway title (a feed's whole text) is not read further

# a measure named in the title; the lead counts only with unambiguous words ("asset managers",
# "freezing weather" and "Strafen" in a lead are no sanctions news)
_MEASURE_TITLE = re.compile(
    r"sanction|sanktion|blacklist|schwarze\w* liste|embargo|\bbans?\b|\bbanned\b|verbot|verbiet|entity list"
    r"|strafzöll|strafmaßnahm|strafen|listet|freez|vermögen|friert|designation"
    r"|export control|exportkontroll|retaliat|vergeltung|gegenmaßnahm", re.IGNORECASE)
_MEASURE_LEAD = re.compile(
    r"sanction|sanktion|blacklist|schwarze\w* liste|embargo|entity list|export control|exportkontroll"
    r"|exportverbot|ausfuhrverbot|strafzöll|strafmaßnahm", re.IGNORECASE)
# the verb right after the actor (an adverb may come first): what governments do to impose a
# measure, as whole words ("US banks brace", "US addresses", "EU weiter uneinig" are no actors),
# not in the passive ("Russia hit by new EU sanctions", "Putin, Lavrov hit with EU asset freeze",
# "Lavrov added to EU sanctions list", "President Putin sanctioned over Ukraine", "Lavrov
# sanctioned": a participle with a preposition or nothing after it, where an active verb has its object)
_VERB = re.compile(
    r"^(?:['’]s)?\s+(?:(?:now|also|jetzt|auch|erneut|further|again|formally|officially)\s+)?"
    r"(?:sanction(?:s|ed)?|retaliat(?:es?|ed)|impos(?:es?|ed)|ban(?:s|ned)?|blacklist(?:s|ed)?|list(?:s|ed)?"
    r"|add(?:s|ed)?|freez(?:es?)|froze|hit(?:s)?|target(?:s|ed)?|adopt(?:s|ed)?|extend(?:s|ed)?|widen(?:s|ed)?"
    r"|tighten(?:s|ed)?|expand(?:s|ed)?|slap(?:s|ped)?|announc(?:es?|ed)|unveil(?:s|ed)?|agree(?:s|d)?"
    r"|approv(?:es?|ed)|renew(?:s|ed)?|prolong(?:s|ed)?|roll(?:s|ed)?|put(?:s)?"
    r"|verhäng(?:t|en)|verbiet(?:et|en)|verbot|setz(?:t|en)|liste(?:t|n)|frier(?:t|en)|sanktionier(?:t|en)"
    r"|beschließ(?:t|en)|beschliess(?:t|en)|nimmt|nehmen|ziel(?:t|en)|erheb(?:t|en)|beleg(?:t|en)|weite(?:t|n)"
    r"|verschärf(?:t|en)|verlänger(?:t|n)|einig(?:t|en)|kapp(?:t|en)|bestraf(?:t|en)|sperr(?:t|en))\b"
    r"(?!\s+(?:by|von|durch)\b)(?!(?<=[^e]ed)\s+(?:with|to|from|as|over|in|on|for|after|amid|under)\b)"
    r"(?!(?<=[^e]ed)\s*$)(?!(?<=hit)\s+with\b)", re.IGNORECASE)
_CLAUSE_START = re.compile(r"(?:^|[:;–—|]\s*)$")
_AND = re.compile(r"^\s*(?:,|and|und|&)\s*$", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"(?:isch|ischen|ische|ischer|ian|ese|ish)$", re.IGNORECASE)  # Russian, russischen
_COMPOUND_HEAD = re.compile(r"^[A-ZÄÖÜ][\w\-]*")  # "EU-Staaten", "US-Regierung"
# one institution between the state and its verb: "US Treasury hits", "EU foreign ministers agree"
# (named ones only: in "China Telecom added to US entity list" the state is a company's name)
_INSTITUTION_AFTER = re.compile(
    r"^\s+(?:Treasury|Commerce|Senate|Congress|House|Council|Commission|Parliament|Government|government"
    r"|foreign ministers|ministers|diplomats|finance ministers|trade ministers|leaders|lawmakers|Regierung|Außenminister|Finanzministerium"
    r"|Handelsministerium|administration|Administration|[Rr]egime)(?=\s)")
# an office written before a person who speaks for a state ("President Trump", "US-Präsident
# Trump", "Kanzlerin Merkel"): the person is still the clause's subject
_BEFORE_PERSON = re.compile(
    r"(?:^|[:;–—|]\s*)(?:(?:US|U\.S\.|EU|UK|US-|EU-|Russian|Chinese|French|German|British"
    r"|Japanese|Canadian|russische[rn]?|chinesische[rn]?|französische[rn]?)?\s*(?:President|Präsident(?:in)?"
    r"|Chancellor|Kanzler(?:in)?|Bundeskanzler(?:in)?|Prime Minister|PM|Premier|Premierminister(?:in)?"
    r"|Secretary of State|Secretary|Treasury Secretary|Commerce Secretary|Foreign Minister"
    r"|Außenminister(?:in)?|Finanzminister(?:in)?|Handelsminister(?:in)?|Minister(?:in)?)\s+)$")
_POSSESSIVE = re.compile(r"^\S+['’]s\s+$")  # "Russia's Putin bans": the state's own leader
# institutions and people that speak for one state in sanctions headlines and that the gazetteer
# leaves out: heads of state and government and the foreign, treasury and commerce ministers of
# the states that impose most measures, 2017 on ("Trump sanctions Turkish ministers", "Pompeo
# announces visa bans"; 0.9.9)
_INSTITUTIONS = [(re.compile(pattern), key) for pattern, key in (
    (r"\bWhite House\b|\bWeiße[ns]? Haus\b|\bOFAC\b|\bCommerce Department\b|\bState Department\b"
     r"|\bUS-Finanzministerium\b|\bUS-Handelsministerium\b"
     r"|\b(?:Trump|Biden|Obama|Pompeo|Blinken|Rubio|Mnuchin|Yellen|Bessent|Raimondo|Lutnick|Wilbur Ross)\b", "@usa"),
    (r"\bKremlin\b|\bKreml\b|\bMoskau\b|\bMoscow\b"
     r"|\b(?:Putin|Medvedev|Medwedew|Lavrov|Lawrow|Mishustin|Mischustin)\b", "@russia"),
    (r"\b(?:Xi Jinping|Xi|Li Keqiang|Li Qiang|Wang Yi)\b", "@china"),
    (r"\b(?:von der Leyen|Juncker|Borrell|Kallas)\b", "@eu"),
    (r"\bDowning Street\b|\bWhitehall\b|\b(?:Boris Johnson|Sunak|Starmer|Truss|Theresa May)\b", "@united kingdom"),
    (r"\b(?:Merkel|Scholz|Merz|Maas|Baerbock|Wadephul)\b", "@germany"),
    (r"\b(?:Shinzo Abe|Abe|Suga|Kishida|Ishiba|Takaichi)\b", "@japan"),
    (r"\bMacron\b", "@france"),
    (r"\b(?:Trudeau|Carney)\b", "@canada"))]


def _state_mentions(title: str, language: str | None) -> tuple[list[Evidence], set[int]]:
    """The states and the institutions or people that speak for one, in order, and the start
    offsets of the institutions and people."""
    states = state_keys()
    found = [e for e in evidence_in(title, language) if e.key in states]
    spans = [(e.start, e.end) for e in found]
    speakers: set[int] = set()
    for regex, key in _INSTITUTIONS:
        for m in regex.finditer(title):
            if not any(start < m.end() and m.start() < end for start, end in spans):
                found.append(Evidence(key, m.group(0), m.start(), m.end()))
                speakers.add(m.start())
    return sorted(found, key=lambda e: e.start), speakers


def sanctioners_in(title: str | None, language: str | None, lead: str | None = "") -> frozenset[str]:
    """The entity keys of the states the headline names as imposing a measure (often none)."""
    title = (title or "")[:TITLE_CHARS]
    if not (_MEASURE_TITLE.search(title) or _MEASURE_LEAD.search((lead or "")[:LEAD_CHARS])):
        return frozenset()
    out: set[str] = set()
    run: list[Evidence] = []  # the states of the clause's subject so far ("EU, US, UK and Canada")
    mentions, speakers = _state_mentions(title, language)
    for e in mentions:
        written = title[e.start:e.end]
        if _ATTRIBUTE.search(written):
            run = []
            continue
        if run and _AND.match(title[run[-1].end:e.start]):
            run.append(e)  # "EU, US, UK and Canada hit …"
        elif run and run[-1].key == e.key and _POSSESSIVE.match(title[run[-1].start:e.start]):
            run[-1] = e  # "Russia's Putin bans …"
        elif _CLAUSE_START.search(title[:e.start]) or (e.start in speakers and _BEFORE_PERSON.search(title[:e.start])):
            run = [e]  # a new clause, a new subject ("US-Sanktionen: China verhängt …", "President Trump")
        else:
            run = []
            continue
        rest = title[e.end:]
        if (written.endswith("-") or rest.startswith("-")) and (m := _COMPOUND_HEAD.match(rest.lstrip("-"))):
            rest = rest.lstrip("-")[m.end():]
        if not _VERB.match(rest) and (m := _INSTITUTION_AFTER.match(rest)):
            rest = rest[m.end():]
        if _VERB.match(rest):
            out.update(x.key for x in run)
            run = []
    return frozenset(out)


def is_sanctioner_key(key: str) -> bool:
    return key.startswith(SANCTIONER_PREFIX)


def role_keys(title: str | None, language: str | None, lead: str | None) -> dict[str, str]:
    """The sanctioners as role keys for an article's terms, each with its entity key (terms_of
    files them as title terms, so that a story counts them per title)."""
    found = sanctioners_in(title, language, lead)
    if not found:
        return {}
    return {ROLE_PREFIX + key: key for key in sorted(found)} | {ROLE_ANY: ""}


__all__ = ["sanctioners_in", "role_keys", "is_role_key", "is_sanctioner_key", "ROLE_PREFIX", "ROLE_ANY",
           "SANCTIONER_PREFIX"]
