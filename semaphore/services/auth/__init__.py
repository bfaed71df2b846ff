"""Sign-in: passwords and lockouts, sessions and tokens, two-factor, LDAP, OpenID Connect."""
