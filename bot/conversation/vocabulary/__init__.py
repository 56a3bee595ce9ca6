"""The flow vocabulary: what a conversation can ask, how an answer is read, where it goes.

- :mod:`.steps`: a step (question, input kind, validator, condition, choices, the API path it
  fills) and a flow (ordered steps and the submit it names);
- :mod:`.paths`: the API paths steps fill, with the conversions to and from the wire;
- :mod:`.values`: validators of typed answers (dates, money, emails, catalog values...);
- :mod:`.parsers`: those validators bound to what a step needs;
- :mod:`.flows`: the flows themselves, as data (:mod:`.flows.builders` shortens them);
- :mod:`.to_api`: a finished draft as API models and JSON Patch;
- :mod:`.suggest`: type-ahead over a step's catalog;
- :mod:`.diagram`: the Mermaid pages in ``docs/flows/``, generated from the flows.

Pure: no I/O and no state. Uses :mod:`bot.conversation.views` and :mod:`bot.referrals` only;
the runtime and the chat front build on it, never the other way round
(vocabulary <- runtime <- chat).
"""
