"""Figure claims from German and English news text: number grammar + cue words + a subject gazetteer.

How a claim is found, sentence by sentence:

1. *Figures*: numbers in German or English notation ("1,6 Millionen", "1.600.000", "1,600,000",
   "$1.2bn", "1,2 Mrd. US-Dollar", "70 %", "70 Prozent", "2,5-mal so schnell") become mentions
   with a form (percent, currency, count, ratio), a normalised value and an approximation flag.
   A figure needs a unit or a count noun; years, dates, phone numbers and bare numbers are never
   figures.
2. *Indicator*: among the indicators that accept the figure's form, the one with a cue word
   closest to the figure (within its window, counted in words, clause boundaries counting extra)
   wins, unless a negative cue (price, poll, inflation, benchmark score, ...) is at least as close.
   Figures that describe a change ("up 20 %", "um 20 Prozent", "30 % faster") or an old value
   ("from 95 % to 50 %") are dropped.
3. *Subject*: the closest gazetteer mention of the indicator's preferred subject type (preceding
   mentions preferred; sources such as "according to X" and the reference chip of a comparison
   excluded). No subject, no claim.
4. *Target year*: "bis 2028", "by 2030", "bis Ende 2027", "2030 target", and "in/für 2030" when the
   sentence speaks of the future.

The rules read everything topical (cues, subjects, targets) from indicators.yaml.

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
