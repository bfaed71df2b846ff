"""The one cron parser: the original's robfig/cron v3 in standard mode.

Five fields (minute hour day-of-month month day-of-week, with month and day names), the
@yearly … @hourly descriptors, `@every <Go duration>`, and an optional `CRON_TZ=<zone> ` (or
`TZ=`) prefix. Errors read as the original's. The schedule schema, the scheduler, the schedule
pages and restore all parse through here; when schedules fire is services.schedules.cron's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from semaphore.errors import ValidationError

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = {
    name: n for n, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}
DAYS = {name: n for n, name in enumerate("sun mon tue wed thu fri sat".split())}
# (minimum, maximum, names) of the five fields, as robfig/cron's bounds.
FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS), (0, 6, DAYS))
DURATION_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
MAX_DURATION_SECONDS = Decimal(2**63 - 1) / Decimal(10**9)
DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]+)")


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: either a five-field `cron` or a constant `every` delay."""

    zone: tzinfo | None
    cron: str | None = None
    every: timedelta | None = None


def _number(text: str, expr: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    value = int(text)
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {expr}")
    return value


def _value(text: str, expr: str, names: Mapping[str, int]) -> int:
    named = names.get(text.lower())
    return named if named is not None else _number(text, expr)


def _range(expr: str, low: int, high: int, names: Mapping[str, int]) -> str:
    """One comma-separated part of a field, as an explicit croniter range."""
    range_and_step = expr.split("/")
    bounds = range_and_step[0].split("-")
    if bounds[0] in ("*", "?"):
        start, end = low, high
    else:
        start = end = _value(bounds[0], expr, names)
        if len(bounds) > 2:
            raise ValueError(f"too many hyphens: {expr}")
        if len(bounds) == 2:
            end = _value(bounds[1], expr, names)
    if len(range_and_step) > 2:
        raise ValueError(f"too many slashes: {expr}")
    step = 1
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], expr)
        if len(bounds) == 1:
            end = high  # "5/10" means from 5 to the end, every 10
    _check_range(expr, (start, end, step), low, high)
    if bounds[0] in ("*", "?") and step == 1:
        return "*"
    if step == 1:
        return str(start) if start == end else f"{start}-{end}"
    return f"{start}-{end}/{step}"


def _check_range(expr: str, parsed: tuple[int, int, int], low: int, high: int) -> None:
    start, end, step = parsed
    if start < low:
        raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ValueError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")


def _fields(spec: str) -> str:
    fields = spec.split()
    if len(fields) != len(FIELDS):
        listed = " ".join(fields)
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: [{listed}]")
    return " ".join(
        ",".join(_range(part, low, high, names) for part in field.split(","))
        for field, (low, high, names) in zip(fields, FIELDS, strict=True)
    )


def go_duration(text: str) -> timedelta:
    """A Go duration string ("1h30m", "1.5s", "300ms") as a timedelta."""
    quoted = f'"{text}"'
    body = text.lstrip("+-")
    if body == "0":
        return timedelta(0)
    if not body:
        raise ValueError(f"time: invalid duration {quoted}")
    total = Decimal(0)
    position = 0
    for match in DURATION_PART.finditer(body):
        number, unit = match.groups()
        if match.start() != position or number in ("", "."):
            raise ValueError(f"time: invalid duration {quoted}")
        if unit not in DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        try:
            total += Decimal(number) * DURATION_UNITS[unit]
        except InvalidOperation:
            raise ValueError(f"time: invalid duration {quoted}") from None
        position = match.end()
    if position != len(body):
        raise ValueError(f"time: missing unit in duration {quoted}")
    seconds = -total if text.startswith("-") else total
    # Go's durations are int64 nanoseconds (about 292 years); longer ones are invalid there,
    # and would overflow timedelta here.
    if abs(seconds) > MAX_DURATION_SECONDS:
        raise ValueError(f"time: invalid duration {quoted}")
    return timedelta(seconds=float(seconds))


def _zone(spec: str) -> tuple[tzinfo | None, str]:
    if not spec.startswith(("TZ=", "CRON_TZ=")):
        return None, spec
    head, _, rest = spec.partition(" ")
    name = head.split("=", 1)[1]
    try:
        return ZoneInfo(name), rest.strip()
    # OSError: a name that is a directory of the zone database ("Europe") or too long a path.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"provided bad location {name}: unknown time zone {name}") from None


def parse_cron(expr: str) -> CronSpec:
    """Parse a schedule expression as the original does.

    Raises:
        ValueError: the expression is not valid; the message is the original's.
    """
    if not expr:
        raise ValueError("empty spec string")
    zone, spec = _zone(expr)
    if spec.startswith("@every "):
        try:
            delay = go_duration(spec[len("@every ") :].strip())
        except ValueError as exc:
            raise ValueError(f"failed to parse duration {spec}: {exc}") from None
        # robfig/cron rounds a delay down to whole seconds, and up to one second at least.
        delay = max(timedelta(seconds=int(delay.total_seconds())), timedelta(seconds=1))
        return CronSpec(zone, every=delay)
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise ValueError(f"unrecognized descriptor: {spec}")
        return CronSpec(zone, cron=DESCRIPTORS[spec])
    return CronSpec(zone, cron=_fields(spec))


def validate_cron(expr: str) -> None:
    """Raises:
    ValidationError: "Cron: <the original's parser message>".
    """
    if not isinstance(expr, str):
        raise ValidationError("cron_format must be a string", "cron_format")
    try:
        parse_cron(expr)
    except ValueError as exc:
        raise ValidationError(f"Cron: {exc}", "cron_format") from None
