"""Publishing the archive: the static site (``site/``) and Telegram Desktop's ``result.json``
(``desktop_json/``). Export reads the archive through storage and is the only room that knows HTML.
"""
