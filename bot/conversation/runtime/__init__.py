"""The runtime: drafts walked through the flows, kept in Redis, submitted once.

- :mod:`.machine`: the pure state machine: a draft and an input give the next draft and the
  views to show;
- :mod:`.session`: the stored draft (:class:`~.session.Session`) and its schema versions;
- :mod:`.session_store`: versioned bytes per conversation in Redis, written by
  compare-and-set, and claims for submitting once;
- :mod:`.drafts`: the drafts on the store, with the version this process last saw cached;
- :mod:`.engine`: the machine run on the stored drafts, a step at a time;
- :mod:`.submit`: finished drafts sent to Partner Center exactly once.

Uses the vocabulary (:mod:`bot.conversation.vocabulary`) and knows nothing of chat
(vocabulary <- runtime <- chat).
"""
