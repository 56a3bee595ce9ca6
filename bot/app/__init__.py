"""The composition root: the one place that turns :class:`~bot.settings.Settings` into live
objects.

Everything else receives its dependencies from here, so a test can build the same parts
around a loopback sandbox or a local Redis without patching anything. One module per job;
import a name from the module that owns it:

- :mod:`.clients`: the HTTP client, Partner Center's clients and how they sign in, Redis;
- :mod:`.services`: the chat services (the desk, its memory, subscriptions) on those;
- :mod:`.platforms`: the Slack and Teams apps and clients, built only when configured;
- :mod:`.worker`: the job handlers, the job loop with its poller, the ``worker`` process;
- :mod:`.web`: the ``web`` process's ASGI app and its routes;
- :mod:`.webhooks`: the command line's webhook registration client.

With :mod:`bot.cli`, the only part of ``bot`` that may import ``handlers`` and ``cards``.
"""
