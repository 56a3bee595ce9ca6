"""Incoming referrals (``direction eq 'Incoming'``): filed once when they arrive, answered
(accepted or declined) once, assigned, reminded about and expired; see :mod:`.store`."""
