"""`semaphore server`'s gunicorn settings: the default bind, the worker, the trusted proxies."""

from __future__ import annotations

import gc

from semaphore.config import Config, load_config
from semaphore.server.serve import gunicorn_options, request_limits


def test_the_default_bind_is_loopback(tmp_path):
    config = load_config(environ={"SEMAPHORE_DATA_DIR": str(tmp_path)}, use_file=False)
    assert config.interface == ""
    assert gunicorn_options(config)["bind"] == "127.0.0.1:3000"


def test_an_interface_is_bound_as_given():
    assert gunicorn_options(Config(interface="0.0.0.0", port=8080))["bind"] == "0.0.0.0:8080"
    assert gunicorn_options(Config(interface="::", port=3000))["bind"] == "[::]:3000"


def test_requests_are_read_by_the_buffering_worker_within_the_configured_times():
    config = Config(web_header_timeout_sec=3, web_body_timeout_sec=30, web_host="http://h/sem")
    options = gunicorn_options(config)
    assert options["worker_class"] == "semaphore.server.worker.BufferedThreadWorker"
    limits = request_limits(config)
    assert (limits.header_timeout, limits.body_timeout, limits.root_path) == (3, 30, "/sem")


def test_forwarded_headers_are_believed_from_the_trusted_proxies_only():
    assert gunicorn_options(Config())["forwarded_allow_ips"] == ""
    trusted = Config(trusted_proxies=("10.0.0.0/8", "192.0.2.1/32"))
    assert gunicorn_options(trusted)["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.1/32"


def test_the_loaded_app_is_left_out_of_the_workers_collections(monkeypatch, tmp_path):
    # A full collection walks every object it tracks with all threads stopped: the app's own,
    # loaded before the workers fork, are frozen (gc.freeze) and never walked again.
    from flask import Flask

    from semaphore.server import serve as serving

    frozen = []
    monkeypatch.setattr(serving._Gunicorn, "run", lambda self: frozen.append(gc.get_freeze_count()))
    monkeypatch.setattr(serving.broker, "redis_url", lambda: "redis://unused")
    monkeypatch.setattr(serving.memory, "limit_arenas", lambda: None)
    app = Flask("frozen")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    serving.db.init_app(app)
    try:
        serving.serve(app, Config(data_dir=str(tmp_path)))
        assert frozen and frozen[0] > 1000
    finally:
        gc.unfreeze()
