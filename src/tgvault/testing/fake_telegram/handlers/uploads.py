"""File downloads: ``upload.getFile`` with Telegram's checks of references, limits and offsets."""

from __future__ import annotations

from telethon.tl import functions, types

from tgvault.testing.fake_telegram.rpc import TL, RequestHandler, UnsupportedRequestError, rpc_error
from tgvault.testing.fake_telegram.world import FakeWorld

__all__ = ["UploadRequests"]

_MIB = 1024 * 1024


class UploadRequests:
    """Answers file parts of the world's photos and documents."""

    def __init__(self, world: FakeWorld) -> None:
        """Answer for ``world``."""
        self.world = world

    def handlers(self) -> dict[type, RequestHandler]:
        """The requests answered here, by type."""
        return {functions.upload.GetFileRequest: self.get_file}

    def get_file(self, request: TL) -> TL:
        """``upload.getFile``: one part of a photo size or document, if the reference is still good."""
        location = request.location
        if isinstance(location, types.InputPhotoFileLocation | types.InputDocumentFileLocation):
            thumb_size = location.thumb_size or ""
        else:
            raise UnsupportedRequestError(request, f"location {type(location).__name__}")
        try:
            ch, file = self.world.find_file(location.id)
        except KeyError:
            raise rpc_error(request, "FILE_ID_INVALID") from None
        if file.access_hash != location.access_hash:
            raise rpc_error(request, "FILE_ID_INVALID")
        if not location.file_reference:
            raise rpc_error(request, "FILE_REFERENCE_EMPTY")
        if ch.vanished:
            raise rpc_error(request, "FILE_REFERENCE_EXPIRED")
        state = file.reference_state(location.file_reference)
        if state == "expired":
            raise rpc_error(request, "FILE_REFERENCE_EXPIRED")
        if state == "invalid":
            raise rpc_error(request, "FILE_REFERENCE_INVALID")
        if thumb_size not in file.sizes:
            raise rpc_error(request, "LOCATION_INVALID")
        offset, limit = request.offset, request.limit
        unit = 1024 if request.precise else 4096
        if limit <= 0 or limit % unit or limit > _MIB or (not request.precise and _MIB % limit):
            raise rpc_error(request, "LIMIT_INVALID")
        crosses_mib = offset // _MIB != (offset + limit - 1) // _MIB
        if offset < 0 or offset % unit or (not request.precise and crosses_mib):
            raise rpc_error(request, "OFFSET_INVALID")
        data = file.read(thumb_size, offset, limit)
        return types.upload.File(
            type=file.storage_type(thumb_size), mtime=int(file.date.timestamp()), bytes=data
        )
