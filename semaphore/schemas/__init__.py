"""One input and one output model per resource: the original's field names, nullability and
error texts. The API, the pages and restore validate through them; the OpenAPI document is
built from them."""
