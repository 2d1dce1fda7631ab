"""Dated reference exchange rates (pipeline/data/reference_rates.csv) and value_usd.

The file holds ECB euro reference rates: units of a currency per 1 EUR on a date. An amount is
converted with the rates of the latest date on or before its own date, at most MAX_AGE_DAYS older
(weekends and holidays have no fixing); when no row covers the date, value_usd stays None. A rate is
never guessed or carried further.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
from pathlib import Path

from pipeline.infra.config import DATA_DIR

DEFAULT_FILE = DATA_DIR / "reference_rates.csv"
MAX_AGE_DAYS = 7


class ReferenceRates:
    def __init__(self, rows: list[tuple[dt.date, str, float]]):
        by_date: dict[dt.date, dict[str, float]] = {}
        for day, currency, per_eur in rows:
            by_date.setdefault(day, {})[currency.lower()] = per_eur
        self.days = sorted(by_date)
        self.by_date = by_date

    @classmethod
    def load(cls, path: Path | str | None = None) -> ReferenceRates:
        rows = []
        path = Path(path) if path else DEFAULT_FILE
        if not path.exists():
            return cls([])
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
        for raw in csv.DictReader(lines):
            try:
                rows.append((dt.date.fromisoformat(raw["date"].strip()), raw["currency"].strip(),
                             float(raw["per_eur"])))
            except (KeyError, ValueError, TypeError, AttributeError):
                continue  # a malformed row is no rate (never a guessed one)
        return cls(rows)

    def _fixing(self, day: dt.date) -> dict[str, float] | None:
        i = bisect.bisect_right(self.days, day) - 1
        if i < 0 or (day - self.days[i]).days > MAX_AGE_DAYS:
            return None
        return self.by_date[self.days[i]]

    def usd(self, value: float, unit: str, when: dt.datetime | dt.date) -> float | None:
        """The amount in US dollars, or None (not a currency, or no rate for that date)."""
        unit = unit.lower()
        if unit == "usd":
            return float(value)
        day = when.date() if isinstance(when, dt.datetime) else when
        fixing = self._fixing(day)
        if unit == "eur" and fixing and "usd" in fixing:
            return round(float(value) * fixing["usd"], 2)
        if not fixing or unit not in fixing or "usd" not in fixing:
            return None
        return round(float(value) / fixing[unit] * fixing["usd"], 2)
