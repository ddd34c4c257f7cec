"""Where posts come from: Telegram over MTProto (``telegram/``), the public web preview (``webpreview/``)
and Telegram Desktop exports (``tdesktop/``). Sources read and hand over :mod:`tgvault.domain` records;
they never write the archive (``base.py`` has the :class:`~tgvault.sources.base.PostSource` protocol).
"""
