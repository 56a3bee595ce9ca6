"""Deal registrations approved in chat by managers: the requests and their decisions."""
