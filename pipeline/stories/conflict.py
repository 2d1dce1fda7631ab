"""Headline conflicts: a report and a story that name different actors in their headlines are
two events however alike their wording (pipeline/stories/cluster.py subtracts conflict_weight).

Three kinds, each its own test:
- subjects: the companies, models and chips the headlines name ("Mistral releases Small 4" and
  "Alibaba releases Qwen 3.5" on one day);
- sanctioners: the governments the headlines name as imposing a measure ("UK sanctions five
  Russian banks" and "US imposes blocking sanctions on Sberbank"; pipeline/stories/actors.py);
- event kinds: results, a plant, a funding round, a release, a deal ("Micron posts record
  quarter" and "Micron confirms Hiroshima plant"; pipeline/stories/event_kinds.py, 0.9.9).
"""

from __future__ import annotations

from typing import NamedTuple

from pipeline.stories.actors import ROLE_ANY, is_sanctioner_key
from pipeline.stories.event_kinds import KIND_ANY, is_kind_key
from pipeline.stories.state import StoryState


class Actors(NamedTuple):
    subjects: frozenset
    sanctioners: frozenset
    kinds: frozenset = frozenset()


def article_actors(terms: dict, subject_keys: frozenset) -> Actors:
    """The companies, models and chips the article's title names, its sanctioners and the kinds
    of event its title names."""
    return Actors(frozenset(k for k, v in terms.items() if k in subject_keys and v[1]),
                  frozenset(k for k in terms if is_sanctioner_key(k)),
                  frozenset(k for k in terms if is_kind_key(k)))


def _titles_naming(story: StoryState, any_key: str) -> int:
    entry = story.terms.get(any_key)
    return entry[2] if entry else 0


def story_actors(story: StoryState, subject_keys: frozenset) -> Actors:
    """The companies, models and chips at least half of the members' titles name (0.9.3;
    before, any member's title): a follow-up that also headlines a rival or a customer ("Qwen
    beats Mistral's model") does not make it what the story is about, so Mistral's own release
    still conflicts with the Qwen story. The sanctioners named by at least half of the titles
    that name any (0.9.8): a reaction ("Kremlin calls them theft") names none and is no vote.
    The kinds of event likewise, of the titles that name any kind (0.9.9)."""
    n = max(1, story.member_count_for_terms)  # so a counted subject is in at least one title
    naming_sanctioner, naming_kind = _titles_naming(story, ROLE_ANY), _titles_naming(story, KIND_ANY)
    subjects, sanctioners, kinds = set(), set(), set()
    for key, entry in story.terms.items():
        if key in subject_keys and 2 * entry[2] >= n:
            subjects.add(key)
        elif is_sanctioner_key(key) and 2 * entry[2] >= naming_sanctioner:
            sanctioners.add(key)
        elif is_kind_key(key) and 2 * entry[2] >= naming_kind:
            kinds.add(key)
    return Actors(frozenset(subjects), frozenset(sanctioners), frozenset(kinds))


def _disjoint(a: frozenset, b: frozenset) -> bool:
    return bool(a and b and not (a & b))


def in_conflict(a: Actors, b: Actors) -> bool:
    """Both headline a company, model or chip and share none, or both name who imposes a measure
    and share no one, or both name a kind of event and share none. A follow-up names its story's subject in its own headline ("Wingtech falls
    after the Dutch seize Nexperia"). Only headlines count (0.9.0): reports of neighbouring events
    mention each other in their text ("a week after Alibaba's Qwen release"), and until 0.9.0
    such a mention switched the conflict off (on eight fresh news months E5's pairwise F1 went
    from 0.917 to 0.963 with headlines only, the thresholds refitted)."""
    return _disjoint(a.subjects, b.subjects) or _disjoint(a.sanctioners, b.sanctioners) or _disjoint(a.kinds, b.kinds)


__all__ = ["Actors", "article_actors", "story_actors", "in_conflict"]
