"""Pure renderers: turn neutral views and referral models into Block Kit, Adaptive Cards, text."""
