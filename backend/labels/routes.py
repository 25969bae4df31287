"""Printable labels: lots (GS1 DataMatrix or GS1-128), locations and badges (Code 128)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import FromPath, QueryParameter

from backend.auth.guards import allow
from backend.domain.labels import Dpi as PrinterDpi
from backend.labels import service
from backend.labels.pdf import Paper
from backend.labels.service import MEDIA_TYPES, LabelSizeName, Printing, Rendered
from backend.web.deps import Db

__all__ = ["LabelController"]

LotSymbol = Annotated[
    Literal["datamatrix", "gs1-128"], QueryParameter(description="The lot label's symbol.")
]
Dpi = Annotated[PrinterDpi, QueryParameter(description="ZPL: the printer's dots per inch.")]
Codes = Annotated[
    str | None,
    QueryParameter(
        max_length=1000,
        description="Comma-separated location codes (1000 characters: URLs stay short enough "
        "for every server); without them, every active location of the warehouse.",
    ),
]
Copies = Annotated[int, QueryParameter(ge=1, le=100, description="Copies of each label.")]
Size = Annotated[
    LabelSizeName,
    QueryParameter(description="Label size in mm (ZPL, SVG, and PDF with paper=label)."),
]
PaperOption = Annotated[
    Paper,
    QueryParameter(description="PDF: an A4 (3x8) or Letter (3x7) sheet, or a page per label."),
]


@dataclass
class LabelFileOperation(Operation):
    """A route whose file type is its path's extension: 200 is SVG, PDF or ZPL text."""

    def __post_init__(self) -> None:
        if self.responses is not None:
            file = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            )
            self.responses["200"] = OpenAPIResponse(
                description="The label file, as the path's extension says.",
                content={media_type: file for media_type in MEDIA_TYPES.values()},
            )


def _file(rendered: Rendered) -> Response[bytes]:
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'inline; filename="{rendered.filename}"'},
    )


class LabelController(Controller):
    path = "/api/labels"
    tags = ["labels"]
    opt = allow("receiver", "supervisor")

    @get("/lots/{name:str}", operation_id="lotLabel", operation_class=LabelFileOperation)
    async def lot(
        self,
        name: FromPath[str],
        db: Db,
        symbol: LotSymbol = "datamatrix",
        serial: Annotated[str | None, QueryParameter(max_length=20)] = None,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
        paper: PaperOption = "a4",
    ) -> Response[bytes]:
        """A lot's label (`12.svg`, `12.pdf`, `12.zpl`): GTIN, expiry or best-before, lot and
        an optional serial as a GS1 DataMatrix or GS1-128, with the text people read."""
        key, form = service.label_path(name, numeric=True)
        label = await service.lot(db, int(key), symbol, serial)
        printing = Printing(size, dpi, paper, copies)
        return _file(service.render([label], form, printing, f"lot-{key}"))

    @get("/locations.pdf", operation_id="locationLabelsPdf", media_type=MEDIA_TYPES["pdf"])
    async def locations_pdf(
        self,
        db: Db,
        warehouse: Annotated[str, QueryParameter(min_length=1, max_length=32)],
        codes: Codes = None,
        copies: Copies = 1,
        size: Size = "100x50",
        paper: PaperOption = "a4",
    ) -> Response[bytes]:
        """Location labels as PDF: `codes` (comma-separated) in that order, or every active
        location of the warehouse in walking order."""
        labels = await service.locations(db, warehouse, service.location_codes(codes))
        printing = Printing(size=size, paper=paper, copies=copies)
        return _file(service.render(labels, "pdf", printing, f"locations-{warehouse}"))

    @get("/locations.zpl", operation_id="locationLabelsZpl", media_type=MEDIA_TYPES["zpl"])
    async def locations_zpl(
        self,
        db: Db,
        warehouse: Annotated[str, QueryParameter(min_length=1, max_length=32)],
        codes: Codes = None,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
    ) -> Response[bytes]:
        """Location labels as ZPL for a Zebra printer, one format per location."""
        labels = await service.locations(db, warehouse, service.location_codes(codes))
        printing = Printing(size=size, dpi=dpi, copies=copies)
        return _file(service.render(labels, "zpl", printing, f"locations-{warehouse}"))

    @get("/locations/{name:str}", operation_id="locationLabel", operation_class=LabelFileOperation)
    async def location(
        self,
        name: FromPath[str],
        db: Db,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
        paper: PaperOption = "a4",
    ) -> Response[bytes]:
        """One location's label (`7.svg`): its barcode `LOC-<WH>-<CODE>` as Code 128."""
        key, form = service.label_path(name, numeric=True)
        label = await service.location(db, int(key))
        printing = Printing(size, dpi, paper, copies)
        return _file(service.render([label], form, printing, f"location-{key}"))

    @get(
        "/badges/{name:str}",
        operation_id="badgeLabel",
        opt=allow(),
        operation_class=LabelFileOperation,
    )
    async def badge(
        self,
        name: FromPath[str],
        db: Db,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
        paper: PaperOption = "a4",
    ) -> Response[bytes]:
        """A person's badge (`ana.svg`): their badge as Code 128 under their display name.
        Admins only: a badge and its PIN sign in."""
        key, form = service.label_path(name, numeric=False)
        label = await service.badge(db, key)
        printing = Printing(size, dpi, paper, copies)
        return _file(service.render([label], form, printing, f"badge-{key}"))
