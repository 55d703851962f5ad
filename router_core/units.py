"""Money and time as people read them."""
from __future__ import annotations

DAYS_PER_MONTH = 30.44  # mean Gregorian month, for "projected monthly cost"


def usd(amount: float) -> str:
    """Dollars with sensible precision: cents for big sums, 3 significant digits for fractions of a cent; the sign
    before the dollar (-$1.77, never $-1.77)."""
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    return sign + (f"${amount:,.2f}" if amount >= 1 else f"${amount:.3g}")


def spend_change(saving_fraction: float) -> str:
    """A saving as the change in spend it means, for a metric's delta shown with delta_color="inverse": a 48% saving
    is "-48% spend" (a green arrow down), a 95% overspend "+95% spend" (a red arrow up); text and arrow agree."""
    return f"{-saving_fraction:+.0%} spend"
