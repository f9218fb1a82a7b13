"""Reading the recipient pages the way a browser would: the form's hidden fields and buttons."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    buttons: list[tuple[str, str]]  # (value, class)

    def submit(self, choice: str) -> dict[str, str]:
        assert choice in [value for value, _ in self.buttons], (choice, self.buttons)
        return {**self.fields, "choice": choice}


def parse_form(html: str) -> Form:
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action, "no POST form on the page"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    pattern = r'<button type="submit" name="choice" value="(\w+)"(?: class="(\w+)")?'
    buttons = [(m.group(1), m.group(2) or "") for m in re.finditer(pattern, html)]
    return Form(action.group(1), fields, buttons)


async def open_form(client: httpx.AsyncClient, url: str, **headers: str) -> Form:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return parse_form(response.text)
