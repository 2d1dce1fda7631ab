"""Subjects: gazetteer mentions of entities (models, chips, companies, countries, funds ...), which
one a figure is about, which chip it is compared against, and a guessed phrase when none is known."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.entities import ALIAS_ENDINGS, alias_is_exact
from pipeline.indicators.defs import Definitions, IndicatorDef
from pipeline.indicators.text.closeness import Sentence
from pipeline.indicators.text.figures import Mention
from pipeline.text import without_overlaps


@dataclass
class SubjectMention:
    start: int
    end: int
    name: str
    types: tuple[str, ...]
    attribution: bool = False
    reference: bool = False
    modifier: bool = False      # a place describing another subject ("a London-based operator"): never the actor
    product: bool = False       # named as an app ("DeepSeek's chatbot app", "die Qwen-App"): its figures are not the entity's
    possessive: bool = False    # a genitive ending after the name ("Nvidia's", "Nvidias"; not "United States")
    # every entity this span can be, in gazetteer order: (name, types, counts_as). An alias that
    # collides across types ("Ascend" chip vs company) resolves to the type the indicator asks for.
    alternatives: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()

    def resolve(self, wanted: set[str]) -> str | None:
        """The entity the figure is recorded on: a fund or agency counts for its state."""
        for name, types, counts_as in self.alternatives or ((self.name, self.types, None),):
            if wanted & set(types):
                return counts_as or name
        return None


class Gazetteer:
    def __init__(self, definitions: Definitions):
        self.entries: list[tuple[re.Pattern, str, tuple[str, ...], str | None]] = []
        for s in definitions.subjects:
            for alias in s.aliases:
                flags = 0 if alias_is_exact(alias) else re.IGNORECASE
                pat = rf"(?<![\w]){re.escape(alias)}(?P<genitive>{ALIAS_ENDINGS})?(?![\w])"
                self.entries.append((re.compile(pat, flags), s.name, s.types, s.counts_as))
            for p in s.patterns:
                self.entries.append((re.compile(p + r"(?P<genitive>['’]s|['’])?"), s.name, s.types, s.counts_as))

    def find(self, text: str) -> list[SubjectMention]:
        found = [SubjectMention(m.start(), m.end(), name, types, alternatives=((name, types, counts_as),),
                                possessive=bool(m.group("genitive")))
                 for pat, name, types, counts_as in self.entries for m in pat.finditer(text) if m.end() > m.start()]
        out = without_overlaps(found)
        for s in out:
            same = [f.alternatives[0] for f in found if (f.start, f.end) == (s.start, s.end)]
            # "Chinese chipmakers cover a third of domestic demand": a group named by its country is
            # that country where the indicator wants one (self-sufficiency)
            same += [f.alternatives[0] for f in found if "group" in s.types and f.start == s.start
                     and f.end < s.end and set(f.types) & _STATE_TYPES]
            s.alternatives = tuple(dict.fromkeys(same))
            s.types = tuple(dict.fromkeys(t for _, types, _ in same for t in types))
            before, after = text[max(0, s.start - 40):s.start], text[s.end:s.end + 30]
            if _expects_of_another(s, text) or re.search(r"(?:according\s+to|laut|nach\s+Angaben(?:\s+(?:von|des|der))?|citing|zitiert)\s+"
                         r"(?:(?:the|der|die|des|dem|den|einer?)\s+)?(?:\w+\s+)?$", before, re.IGNORECASE) or re.match(
                    r"^[\s,]*(?:said|says|sagte|sagt|reported|berichtet\w*|told|teilte|mitteilte|zufolge|"
                    r"estimates|schätzt|figures\s+show|data\s+show)\b", after, re.IGNORECASE):
                s.attribution = True
            if _MODIFIER_AFTER.match(after) or _PLACE_BEFORE.search(before) \
                    or set(s.types) <= _STATE_TYPES and _POSSESSIVE_BEFORE.search(before):
                s.modifier = True
            s.product = _APP_AFTER.match(after) is not None or _APP_NAMED.search(text[s.start:s.end]) is not None
        _nationality_of_agencies(out, text)
        return out


# "Broadcom expects custom AI chips to make up 30 %": the one who expects is a source, the figure is
# the object's ("TSMC expects capital expenditure of $52 billion" stays TSMC's: a figure follows)
_EXPECTS_OTHER = re.compile(r"\s+(?:expects?|predicts?|forecasts?|projects?)\s+(?!its\b|their\b)(?:[^\s\d$€£¥]+\s+){1,4}?"
                            r"to\s+(?:make|account|reach|hit|climb|rise|fall|take|hold|capture|grow|be|control)\b",
                            re.IGNORECASE)
# "Japan expects local makers to hold 30 % of the country's chip market": a state speaking of its own
# industry or market states its own target
_OWN_INDUSTRY = re.compile(r"(?<![\w])(?:local|domestic|home-?grown|national|its\s+own|the\s+country['’]s|the\s+bloc['’]s|"
                           r"heimische\w*|einheimische\w*|inländische\w*|eigene\w*)(?![\w])", re.IGNORECASE)


def _expects_of_another(s: SubjectMention, text: str) -> bool:
    expects = _EXPECTS_OTHER.match(text, s.end, s.end + 80)
    if expects is None:
        return False
    own = _OWN_INDUSTRY.search(text, s.end, expects.end() + 60)
    return not (set(s.types) & _STATE_TYPES and own)
# "a London-based operator", "SoftBank-backed start-ups", "mit Sitz in München", "headquartered in
# Taipei": the name describes another noun, the actor is elsewhere
_MODIFIER_AFTER = re.compile(r"^-(?:based|backed|owned|funded|led|basierte\w*|ansässige\w*|gestützte\w*|finanzierte\w*)\b",
                             re.IGNORECASE)
_PLACE_BEFORE = re.compile(r"(?:based\s+in|headquartered\s+in|mit\s+Sitz\s+in)\s+$", re.IGNORECASE)
# "bringing its total US commitment to $165 billion": a place word after "its" describes what "its" owns
_POSSESSIVE_BEFORE = re.compile(r"(?<![\w])(?:its|their|seine[nmrs]?|ihre[nmrs]?)\s+(?:[a-zäöü]\w*\s+)?$")
_STATE_TYPES = {"country", "bloc", "region"}
_APP_AFTER = re.compile(r"^[\s\-]*(?:(?:chatbot|assistant|Chatbot|Assistent\w*)[\s\-]+)?(?:app|apps|App|Apps)\b")
_APP_NAMED = re.compile(r"[\s\-](?:app|App)s?$")  # "Qwen-App" matched whole by a family pattern
# a figure whose subject is named as an app or as "others": it is nobody's we track (no claim, no candidate)
# (a value no entity name or candidate's empty subject can take)
NOT_TRACKED = "\x00not tracked"


def _nationality_of_agencies(found: list[SubjectMention], text: str) -> None:
    """"Das japanische Wirtschaftsministerium", "the Korean industry ministry": an agency or fund
    right after a country (adjective or name) spends for that country, whatever its own alias says."""
    for before, s in zip(found, found[1:]):
        if set(s.types) & {"agency", "fund"} and set(before.types) & _STATE_TYPES \
                and re.fullmatch(r"\s*", text[before.end:s.start]):
            state = next(name for name, types, _ in before.alternatives if set(types) & _STATE_TYPES)
            s.alternatives = tuple((name, types, state) for name, types, _ in s.alternatives)


_REFERENCE_BETWEEN = re.compile(r"(?<![\w])(?:of|der|des|von|vs\.?|versus|compared|gegenüber|verglichen|relative|"
                                r"wie|than|als|matches|erreicht|reaches)(?![\w])", re.IGNORECASE)
_ARTICLE_ONLY = re.compile(r"\s*(?:(?:the|an?|der|des|eines|einer)\s+)?")  # "1.2 times the A100"
_REFERENCE_BEFORE = re.compile(r"(?:compared\s+(?:to|with)|gegenüber|verglichen\s+mit|relative\s+to|"
                               r"im\s+Vergleich\s+zu[mr]?|than|als|vs\.?|versus|wie|(?<![\w])of|(?<![\w])as|"
                               # German genitive only after what is measured ("60 Prozent der", "Leistung
                               # eines"): ", der 910B nur 40 Prozent" is a nominative, the next subject
                               r"(?:%|Prozent|[Ff]ache[nrs]?|[\w\-]*[Ll]eistung|Performance|Niveaus?|Tempo)\s+(?:der|des|eines))"
                               r"\s+(?:(?:the|a|an|den|dem|die|das)\s+)?$",
                               re.IGNORECASE)


def mark_references(subjects: list[SubjectMention], mentions: list[Mention], sent: Sentence) -> None:
    """In a performance comparison the chip after 'of/der/than' is the reference, not the subject
    ("60 % of H100 performance, but only 40 % of the H200's": both H100 and H200 are references)."""
    for s in subjects:
        s.reference = False
        if "chip" not in s.types:
            continue
        for mention in mentions:
            if s.start >= mention.end and sent.distance((mention.start, mention.end), (s.start, s.end)) <= 8 \
                    and (_REFERENCE_BETWEEN.search(sent.text[mention.end:s.start])
                         or mention.form == "ratio" and _ARTICLE_ONLY.fullmatch(sent.text[mention.end:s.start])) \
                    and not any(o is not s and "chip" in o.types and mention.end <= o.start < s.start for o in subjects):
                s.reference = True
        if _REFERENCE_BEFORE.search(sent.text[max(0, s.start - 50):s.start]) and any(
                m.end <= s.start for m in mentions):
            s.reference = True


def pick_reference(mention: Mention, subjects: list[SubjectMention], sent: Sentence) -> str | None:
    """The reference chip of one comparison: the nearest one after the figure, else before it."""
    refs = [s for s in subjects if s.reference]
    after = [s for s in refs if s.start >= mention.end]
    pool = after or refs
    if not pool:
        return None
    best = min(pool, key=lambda s: sent.distance((mention.start, mention.end), (s.start, s.end)))
    return best.name


_RECIPIENT_BEFORE = re.compile(
    r"(?<![\w])(?:(?:for|für|to|into|an|in|at|bei|nach)\s+(?:(?:the|den|die|das|der|dem|des)\s+)?|"
    r"dem\s+(?:[\w\-]+\s+)?)$", re.IGNORECASE)  # "schießt dem Chiphersteller Rapidus ... zu": the recipient
_PLACE_BEFORE_NAME = re.compile(r"(?<![\w])(?:in|im|at|bei)\s+$", re.IGNORECASE)
_BENEFICIARY_BEFORE = re.compile(r"(?<![\w])(?:for|für|to|an|(?<!aus\s)(?<!von\s)dem)\s+(?:(?:the|den|die|das|der|dem|des)\s+)?"
                                 r"(?:[\w\-]+\s+)?$", re.IGNORECASE)
# "die Regierung in Peking", "the government in Tokyo": the place stands for its government, the actor
_GOVERNMENT_IN = re.compile(r"(?:government|Regierung|authorities|Behörden|administration|officials)\s+(?:in|of|von)\s+$",
                            re.IGNORECASE)
_OWNER_BEFORE = re.compile(r"(?<![\w])(?:for|für|with|mit)\s+$", re.IGNORECASE)


def pick_subject(ind: IndicatorDef, mention: Mention, subjects: list[SubjectMention], sent: Sentence,
                 segment: tuple[int, int]) -> str | None:
    """The closest subject of the first type group that has one; the actor is preferred over a
    recipient or place ("Japan earmarked $25bn for Rapidus": Japan), and a subject in the figure's
    own segment (between the neighbouring figures) over one that belongs to another figure
    ("385 million downloads against Llama's 350 million")."""
    if ind.kind == "investment" and _RECEIVE.search(_own_clause(sent.text, mention)):
        giver = _giver(ind, mention, subjects, sent)
        if giver:
            return giver
    if ind.kind == "investment" and _WITH_MONEY.search(sent.text[max(0, mention.start - 30):mention.start]) \
            and not _named_in_own_clause(mention, subjects, sent.text, segment):
        opener = _opening_actor(ind, subjects, sent)
        if opener:
            return opener
    for group in ind.subject_types:
        wanted = set(group)
        best, best_score = None, None
        for s in subjects:
            name = s.resolve(wanted)
            if name is None or s.attribution or s.reference or s.modifier:
                continue
            if ind.kind == "investment" and _BENEFICIARY_BEFORE.search(sent.text[max(0, s.start - 30):s.start]):
                continue  # "approved ¥802.5 billion for Rapidus", "will provide ¥100 billion to Rapidus": the recipient
            score = _score(ind, s, mention, sent, segment, first=s is subjects[0])
            if _possessor_of(s, subjects, sent.text, wanted):
                score += 6  # "Saudi Arabia's Humain plans to spend": the company, not its country
            if best_score is None or score < best_score:
                best, best_score = (NOT_TRACKED if s.product else name), score
        if best is not None:
            return best
    return None


# "Rapidus erhält vom japanischen Staat weitere 100 Milliarden Yen", "Micron will receive ¥536 billion
# in subsidies from Tokyo": the money's giver is the investor, not the receiver
_RECEIVE = re.compile(r"(?<![\w])(?:receiv\w*|gets|got|erhält|erhielt\w*|bekommt|bekam\w*|erhalten)(?![\w])", re.IGNORECASE)
_GIVER_BEFORE = re.compile(r"(?<![\w])(?:from|vom|von(?:\s+(?:der|dem|den))?)\s+(?:(?:the|der|dem)\s+)?(?:[\w\-]+\s+)?$",
                           re.IGNORECASE)


# "France is backing the Crolles fab that ST runs with GlobalFoundries with about €2.9 billion": money
# given "with/mit" is the means of the sentence's own subject, whoever else a relative clause names
_WITH_MONEY = re.compile(r"(?<![\w])(?:with|mit)\s+(?:(?:about|around|roughly|some|nearly|more\s+than|up\s+to|rund|etwa|"
                         r"knapp|gut|mehr\s+als|bis\s+zu|insgesamt|total)\s+)?$", re.IGNORECASE)


def _named_in_own_clause(mention: Mention, subjects: list[SubjectMention], text: str, segment: tuple[int, int]) -> bool:
    """", Nvidia mit zehn Milliarden": a subject after the last clause break before the figure owns it."""
    clause = max(text.rfind(c, segment[0], mention.start) for c in ",;")
    return clause >= 0 and any(clause < s.start and s.end <= mention.start for s in subjects)


def _opening_actor(ind: IndicatorDef, subjects: list[SubjectMention], sent: Sentence) -> str | None:
    if not subjects or sent.word(subjects[0].start) > 2:
        return None
    s = subjects[0]
    if s.attribution or s.modifier or s.reference:
        return None
    return s.resolve({t for g in ind.subject_types for t in g})


# where the figure's clause ends: a clause break or a subordinating word ("after it received approval
# from Taiwan", "having got the nod from Washington" are other clauses than the money's)
_CLAUSE_BREAK = re.compile(r"[,;:]|\s[–—-]\s|(?<![\w])(?:after|before|because|since|once|when|while|whereas|although|"
                           r"having|which|who|nachdem|bevor|weil|sobald|wenn|während|obwohl)(?![\w])", re.IGNORECASE)
# between the money and its giver only what the money is ("¥536 billion in subsidies from Tokyo",
# "vom japanischen Staat weitere 100 Milliarden Yen": the adjective's noun may follow): a few words, no
# verb or clause break
_MONEY_TO_GIVER = re.compile(r"^(?:\s+(?:in|an|as|of|at|weitere\w*|zusätzliche\w*|additional|more|further|"
                             r"[a-zäöüß][\w\-]*(?:s|n|en|ung\w*|ien|ies|gelder\w*|hilfen?))){0,3}\s+$")
_GIVER_TO_MONEY = re.compile(r"^(?:\s+(?-i:[A-ZÄÖÜ])\w*)?(?:\s+(?:weitere\w*|zusätzliche\w*|additional|more|further|rund|etwa|knapp|about|"
                             r"around|roughly|some|nearly|up\s+to|bis\s+zu))*\s*$", re.IGNORECASE)


def _own_clause(text: str, mention: Mention) -> str:
    """The figure's clause: from the last break before it to the first one after it (a subordinating
    word opens a new clause; German relative clauses open after a comma)."""
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, mention.start)), default=0)
    after = _CLAUSE_BREAK.search(text, mention.end)
    return text[start:after.start() if after else len(text)]


def _giver(ind: IndicatorDef, mention: Mention, subjects: list[SubjectMention], sent: Sentence) -> str | None:
    givers = [(sent.distance((s.start, s.end), (mention.start, mention.end)), name) for s in subjects
              if not (s.attribution or s.modifier) and (name := s.resolve({t for g in ind.subject_types for t in g}))
              and (giver := _GIVER_BEFORE.search(sent.text[max(0, s.start - 30):s.start]))
              and _gives_the_money(sent.text, mention, s.start - len(giver.group(0)), s.end)]
    return min(givers)[1] if givers else None


def _gives_the_money(text: str, mention: Mention, phrase_start: int, phrase_end: int) -> bool:
    """"from Tokyo" tied to the money: right after it (but for what the money is) or right before it."""
    if phrase_start >= mention.end:
        return _MONEY_TO_GIVER.match(text[mention.end:phrase_start]) is not None
    return phrase_end <= mention.start and _GIVER_TO_MONEY.match(text[phrase_end:mention.start]) is not None


# "CXMT ranked fourth with 5 %, ahead of Nanya at 3 %": the name right before "at/with" owns the figure,
# whether or not it is a known entity
_OWNER_AHEAD = re.compile(r"(?<![\w])(?:ahead\s+of|behind|followed\s+by|(?P<german>vor|hinter)|gefolgt\s+von)\s+"
                          r"(?P<name>(?-i:[A-ZÄÖÜ])[\w\-&.]*(?:\s+(?-i:[A-ZÄÖÜ])[\w\-&.]*){0,2})\s+"
                          r"(?:at|with|on|mit|bei|auf)\s+(?:(?:about|around|roughly|rund|etwa|knapp|gut)\s+)?$", re.IGNORECASE)

# "Samsung kam auf 40 Prozent, vor Nanya mit 3 Prozent": German "vor"/"hinter" rank only after a figure or a place
_RANKING_BEFORE = re.compile(r"\d\s*(?:%|Prozent)|(?<![\w])(?:Platz|Rang|Position)(?![\w])")


def unknown_owner(mention: Mention, subjects: list[SubjectMention], text: str) -> str | None:
    """The name that owns the figure by a comparison ("ahead of Nanya at 3 %") when it is no known
    entity (the figure is a candidate then, never the subject named earlier)."""
    owner = _OWNER_AHEAD.search(text[max(0, mention.start - 80):mention.start])
    if owner is None:
        return None
    if owner.group("german") and not _RANKING_BEFORE.search(text[:max(0, mention.start - 80) + owner.start()]):
        return None  # "vor Ort", "vor Jahren", "hinter den Kulissen": a place or time, not a ranking
    start = mention.start - len(text[max(0, mention.start - 80):mention.start]) + owner.start("name")
    end = start + len(owner.group("name"))
    if any(s.start < end and start < s.end for s in subjects):
        return None
    return owner.group("name")


def is_place(s: SubjectMention, text: str) -> bool:
    """"in Schanghai", "at Arizona": a country or region named as where something happens."""
    before = text[max(0, s.start - 20):s.start]
    return bool(set(s.types) & _STATE_TYPES) and _PLACE_BEFORE_NAME.search(before) is not None \
        and not _GOVERNMENT_IN.search(before)


def _possessor_of(s: SubjectMention, subjects: list[SubjectMention], text: str, wanted: set[str]) -> bool:
    """"Saudi Arabia's Humain", "Alibabas Qwen": s owns the next subject, which fits the indicator too."""
    if not s.possessive:
        return False
    return any(0 <= t.start - s.end <= 1 and t.resolve(wanted) for t in subjects)


def _score(ind: IndicatorDef, s: SubjectMention, mention: Mention, sent: Sentence, segment: tuple[int, int],
           first: bool) -> int:
    """How unlikely ``s`` is the subject of the figure: words between them, plus penalties."""
    score = sent.distance((s.start, s.end), (mention.start, mention.end))
    inside = segment[0] <= s.start and s.end <= segment[1]
    before = sent.text[max(0, s.start - 20):s.start]
    if s.start > mention.start:
        score += 3  # the grammatical subject usually comes first (de and en)
        if inside and ind.kind != "investment" and _OWNER_BEFORE.search(before):
            score -= 3  # "64 million for Kimi K2", "with Cambricon at around 12 %" (money "for X" goes to X)
    elif _RECIPIENT_BEFORE.search(before) and not _GOVERNMENT_IN.search(before):
        score += 4
        if is_place(s, sent.text):
            score += 4  # "beim Börsengang in Schanghai acht Milliarden Yuan": where, not who
    elif first and sent.word(s.start) <= 1:
        score -= 5  # the sentence opens with it: "Das US-Handelsministerium sagte Intel ... zu"
    if not inside:
        score += 8
    return score


def carried_subject(ind: IndicatorDef, carried: list[SubjectMention]) -> str | None:
    """The subject of an earlier sentence, when this one names none ("The rate currently stands at
    about 23 %"): the first fitting entity there (the grammatical subject of that sentence)."""
    for group in ind.subject_types:
        for s in carried:
            if not s.attribution and not s.reference and not s.modifier and (name := s.resolve(set(group))):
                return name
    return None


_PHRASE = re.compile(r"(?<![\w])(?:(?:the|The|der|die|das|Der|Die|Das)\s+)?[A-ZÄÖÜ][\w\-&.]*[\w]"
                     r"(?:\s+(?:of\s+|für\s+|de\s+)?[A-ZÄÖÜ][\w\-&.]*[\w])*")
_NOT_A_NAME = re.compile(r"^(?:The|Der|Die|Das|Ein|Eine|A|An|In|Im|Am|Auf|Bis|By|For|Für|Mit|With|This|That|It|Es|"
                         r"Sie|Er|Laut|According|Insgesamt|Nach|Rund|About|Around|Over|Über|Davon|Of|Its|Their|Ihr)$")


def guess_subject_phrase(text: str, mention: Mention) -> str | None:
    """For a figure whose subject is not a known entity: the capitalised phrase nearest before it
    (else after it), so that an analyst sees what the gazetteer misses."""
    before = [m for m in _PHRASE.finditer(text[:mention.start]) if not _NOT_A_NAME.match(m.group(0))]
    if before:
        return before[-1].group(0)[:120]
    after = [m for m in _PHRASE.finditer(text, mention.end) if not _NOT_A_NAME.match(m.group(0))]
    return after[0].group(0)[:120] if after else None
