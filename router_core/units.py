"""Money and time as people read them."""
from __future__ import annotations

DAYS_PER_MONTH = 30.44  # mean Gregorian month, for "projected monthly cost"


def usd(amount: float) -> str:
    """Dollars with sensible precision: cents for big sums, 3 significant digits for fractions of a cent."""
    return f"${amount:,.2f}" if abs(amount) >= 1 else f"${amount:.3g}"
