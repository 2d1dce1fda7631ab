"""The errors behind a set's figures, for reading (bench/models.py --errors): the reports given a
wrong theme, the stories that join reports of different events, and the events split over
several stories. Reading a set's errors uses it up as a held-out set: write down first which
change its figures are to judge."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence


def _when(article) -> str:
    return article.published_at.strftime("%Y-%m-%d %H:%M")


def theme_errors(articles: Sequence, assigned: Sequence) -> list[str]:
    """One line per report whose primary theme is neither its label nor an acceptable alternative."""
    return [f"    theme {a.theme} -> {s.theme}: {a.id} ({a.language}) {a.title}"
            for a, s in zip(articles, assigned) if not a.theme_ok(s.theme)]


def story_errors(articles: Sequence, predicted: Sequence) -> list[str]:
    """The predicted stories that hold more than one event (each member with its event), then the
    events spread over more than one predicted story (a single is an event of its own)."""
    members: dict = defaultdict(list)
    stories_of: dict = defaultdict(set)
    for article, story in zip(articles, predicted):
        members[story].append(article)
        stories_of[article.story].add(story)
    lines = []
    for group in members.values():
        events = {a.story for a in group}
        if len(events) > 1:
            lines.append(f"    joined in one story: {len(events)} events")
            lines += [f"      {a.story:<16} {a.language} {_when(a)} {a.title}"
                      for a in sorted(group, key=lambda a: (a.story, a.published_at))]
    for event, stories in stories_of.items():
        if len(stories) > 1:
            parts = [" | ".join(f"{a.language}: {a.title[:60]}" for a in members[s] if a.story == event)
                     for s in sorted(stories, key=str)]
            lines.append(f"    split over {len(stories)} stories: {event}: " + " || ".join(parts))
    return lines


__all__ = ["theme_errors", "story_errors"]
