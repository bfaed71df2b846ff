"""Waiting for htmx in browser tests."""

from __future__ import annotations

from playwright.sync_api import Page


def settled(page: Page) -> None:
    """Wait until htmx has finished its requests, swaps and the processing of what it swapped
    in: until then a form just swapped in has no listeners, and a change made to it is lost."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
