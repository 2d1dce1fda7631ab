"""Figure claims from German and English news text: number grammar + cue words + a subject gazetteer.

How a claim is found, sentence by sentence:

1. *Figures*: numbers in German or English notation ("1,6 Millionen", "1.600.000", "1,600,000",
   "$1.2bn", "1,2 Mrd. US-Dollar", "70 %", "70 Prozent", "2,5-mal so schnell"), word numbers
   ("anderthalb Milliarden", "half a million") and word fractions ("die Hälfte", "a third", "zwei
   Drittel": percent) become mentions with a form (percent, currency, count, ratio), a normalised
   value and an approximation flag. Currencies: EUR, USD, GBP, JPY, CNY, KRW, TWD by symbol, code
   and word. Ranges are one figure (the midpoint, approximate; also amounts: "US$40 billion to
   US$42 billion"); "50 % more ... than" is ratio 1.5; "zehnfach", "tenfold" are ratios.
   A figure needs a unit or a count noun; years, dates, phone numbers and bare numbers are never
   figures, and a sentence with more than 24 figures (a table dump) gives none.
2. *Indicator*: among the indicators that accept the figure's form, the one with a cue word
   closest to the figure (within its window, counted in words, clause boundaries counting extra)
   wins, unless a negative cue (price, poll, inflation, benchmark score, ...) is at least as close
   (a purpose cue named as what the money is for vetoes it however far: "set aside $1.5bn for legal
   claims").
   Figures that describe a change ("up 20 %", "um 20 Prozent", "30 % faster") or an old value
   ("from 95 % to 50 %") are dropped. A cue owned by a named subject ("Nvidias Anteil am ...
   Markt") reaches twice as far within its clause; a cue about another market ("cloud market",
   imports) does not count (`cue_exclusions`); a share of a named chip is a performance comparison.
3. *Subject*: the closest entity (entities.yaml) of the indicator's preferred type, preferring one in
   the figure's own segment between its neighbouring figures ("385 million against Llama's 350
   million"); sources such as "according to X" and the reference chips of a comparison are
   excluded (the reference is kept on the claim). An alias shared by entities of different types
   resolves to the type the indicator wants; a fund or agency counts for its state (or for the
   nationality right before it: "das japanische Wirtschaftsministerium"). Names that describe
   another noun ("a London-based", "SoftBank-backed", "its US commitment") are not actors; the
   recipient of money ("for Rapidus") is never the investor, the giver is when the receiving verb
   is in the money's own clause and "from X" is tied to the money ("gets ¥100bn from Tokyo"; not
   "invests $5bn after it received approval from Taiwan"); a figure of an app ("Qwen app") or of "others" is nobody's. A sentence
   that names none takes the subject (and, when it refers back: "the rate", "ihr Anteil", the
   topic) of the sentence before. No known subject: a candidate with a guessed subject phrase.
4. *Target year*: "bis 2028", "by 2030", "bis Ende 2027", "2030 target", "2027 sollen es ... sein",
   and "in/für 2030" when the sentence speaks of the future (a future verb, a plan or forecast word,
   or a German present-tense forecast: "steigt im Jahr 2026 auf", "wächst 2027 auf"). A bare year
   ("dass Huawei 2026 rund die Hälfte hält") counts only with the future in its own clause (or in
   the main clause of its "dass/that" clause), and not when it names something ("the 2022 Chips
   Act", "its 2024 annual report") or sits in a clause that reports a past level ("held 80 % in
   2024"). Trajectories ("from 15 % in 2019 to 30 % in 2024, 70 % by 2030") give the reported
   value without a year and the target with its year.

The rules read everything topical from the data files: cues and targets from indicators.yaml,
entities and their German and English aliases from entities.yaml.

One module per step: figures.py (1), claims.py (2, and the Extractor that runs the steps),
subjects.py (3), targets.py (4); closeness.py measures distances in words. Sentence splitting
and text cleaning are pipeline/text.py's.
"""

from pipeline.indicators.text.claims import (
           Claim,
           Extractor,
           default_extractor,
           extract_claims,
)
from pipeline.indicators.text.figures import (
           Mention,
           find_mentions,
           mask_non_figures,
           parse_number,
)

__all__ = ["Claim", "Extractor", "Mention", "default_extractor", "extract_claims", "find_mentions", "mask_non_figures",
           "parse_number"]
