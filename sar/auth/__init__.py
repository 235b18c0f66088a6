"""Users, agencies and sessions: who may use the command centre and the crew socket.

``users.py`` keeps users with argon2 password hashes (in memory and, when configured, in a JSON
file); ``sessions.py`` issues random tokens of which only the SHA-256 is kept, with an expiry,
and slows down repeated failed logins; ``service.py`` ties them together for the HTTP edge.
"""
