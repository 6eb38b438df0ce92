"""What the browser tests check of a form: a bad value refused in the page, beside its
field, before anything is sent (README "Dashboard": forms)."""

from __future__ import annotations

from typing import Any


def refused_here(page: Any, submit: str, field: str) -> str:
    """Click `submit`: the page marks `field` invalid, says why beside it, and sends
    the node nothing (no POST or PUT, so nothing is signed). The message."""
    sent: list[str] = []

    def note(request: Any) -> None:
        if request.method in ("POST", "PUT") and "/api/v1/" in request.url:
            sent.append(request.url)

    page.on("request", note)
    try:
        page.click(submit)
        page.wait_for_selector(f"{field}[aria-invalid=true]")
        message = str(page.locator(f"{field} ~ .field-error").first.text_content())
    finally:
        page.remove_listener("request", note)
    assert sent == [], sent
    assert message
    return message
