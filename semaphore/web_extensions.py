"""The HTTP side's Flask extensions (sign-in, CSRF, WebSocket), created unbound;
create_app() binds them for the web app only: workers and the scheduler never import them."""

from __future__ import annotations

from flask_login import LoginManager
from flask_sock import Sock
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
sock = Sock()
csrf = CSRFProtect()
