"""The chat front: what Slack, Teams and the terminal share between a parsed turn and a reply.

- :mod:`.commands`: the ``/referral`` subcommands and the words that steer a draft;
- :mod:`.desk`: one entry point for what a seller says: drafts to the engine, ``show`` and
  ``list`` to Partner Center;
- :mod:`.finding`: what names a referral wherever an id is expected (the id's start, a number
  from the last list, words of its name), and ``/referral find``;
- :mod:`.memory`: :class:`~.memory.ChatMemory`, a conversation's deliveries already handled,
  its last question card (:class:`~.memory.CardRef`) and its last list;
- :mod:`.turns`: the turn pipeline every platform runs on (:class:`~.turns.Turn`,
  :class:`~.turns.Replier`, :class:`~.turns.TurnRunner`);
- :mod:`.sign_in`: the chat's side of signing in, and its part of the turn pipeline
  (:class:`~.sign_in.SignInTurns`);
- :mod:`.subscribing`: a channel's subscriptions to referral changes;
- :mod:`.approving`, :mod:`.approval_requests`, :mod:`.approval_rules`,
  :mod:`.approval_cards`: deal registrations asked for, decided and sent;
- :mod:`.triaging`, :mod:`.inbound_arrivals`, :mod:`.inbound_showing`,
  :mod:`.inbound_timing`, :mod:`.inbound_rules`, :mod:`.inbound_cards`, :mod:`.inbound_jobs`:
  incoming referrals filed, put in front of sellers, answered, reminded of and expired.

Uses the runtime and the vocabulary (vocabulary <- runtime <- chat). Adapters in
``handlers/`` reach it through :mod:`bot.conversation`.
"""
