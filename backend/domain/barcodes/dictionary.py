"""The GS1 Application Identifier table: formats, checks and pairing rules of every AI.

Transcribed from the GS1 General Specifications (section 3, the AI definitions; 4.14, invalid
pairs and mandatory associations; 7.8.5, the predefined-length table) in the decomposed form
of the GS1 Barcode Syntax Dictionary, so each component of a value is checked on its own.
`biip` ships a flat list of the same AIs (lengths and a regex each); we keep our own because
it lacks the component checks, the pairing rules and the Digital Link path rules, and a test
keeps the two lists in agreement on which AIs exist.

Each line: `AI[-AI]  [*]  components  [req=A,B+C ...]  [ex=A,Bn ...]  [dl[=Q,Q|Q]]`.
`*` marks a predefined-length AI (no GS needed after it). A component is `Type[..]Len`, with
`Type` N (digits), X (CSET 82), Y (CSET 39) or Z (CSET 64), optional when in brackets, and
`:check` suffixes naming the content checks in `ai_values`. `req=` lists alternatives of which
one must be present (`+` joins AIs that must all be present); repeated `req=` must all hold.
`ex=` lists AIs that must not appear with this one. In AI patterns `n` stands for any digit.
`dl` marks a Digital Link primary key; `dl=22,10,21|235` lists its path qualifiers, in order,
with `|` between alternative sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["AI_TABLE", "PREDEFINED_LENGTHS", "AIDefinition", "Component", "lookup_ai"]


@dataclass(frozen=True, slots=True)
class Component:
    """One part of an AI's value: its character set, length range and content checks."""

    charset: str
    min_length: int
    max_length: int
    optional: bool
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AIDefinition:
    """Everything the parser needs to know about one Application Identifier."""

    ai: str
    title: str
    predefined_length: bool
    """In the GenSpec 7.8.5 table: its value has a fixed length and no GS follows it."""
    components: tuple[Component, ...]
    min_length: int
    max_length: int
    requires: tuple[tuple[tuple[str, ...], ...], ...]
    """Each group: alternatives, one of which must be present; an alternative is AIs joined."""
    excludes: tuple[str, ...]
    dl_primary_key: bool
    dl_qualifiers: tuple[tuple[str, ...], ...]
    """Alternative ordered sequences of Digital Link path qualifiers after this key."""
    required_sets: tuple[tuple[tuple[frozenset[str], ...], ...], ...] = field(default=())
    """`requires` with each pattern expanded to the set of AIs it matches (for speed)."""
    conflicts: frozenset[str] = field(default=frozenset())
    """Every AI that must not appear with this one, whichever of the two lists the rule."""


_SPEC = """
00 * N18:csum | dl | SSCC
01 * N14:csum | ex=02,255,37 dl=22,10,21|235 | GTIN
02 * N14:csum | req=37 | CONTENT
03 * N14:csum | | MTO GTIN
10 X..20 | req=01,02,8006,8026 | BATCH/LOT
11 * N6:yymmd0 | req=01,02,8006,8026 | PROD DATE
12 * N6:yymmd0 | req=8020 | DUE DATE
13 * N6:yymmd0 | req=01,02,8006,8026 | PACK DATE
15 * N6:yymmd0 | req=01,02,8006,8026 | BEST BEFORE
16 * N6:yymmd0 | req=01,02,8006,8026 | SELL BY
17 * N6:yymmd0 | req=01,02,255,8006,8026 | USE BY or EXPIRY
20 * N2 | req=01,02,8006,8026 | VARIANT
21 X..20 | req=01,8006 ex=235 | SERIAL
22 X..20 | req=01 | CPV
235 X..28 | req=01 | TPX
240 X..30 | req=01,02,8006,8026 | ADDITIONAL ID
241 X..30 | req=01,02,8006,8026 | CUST. PART No.
242 N..6 | req=01,02,8006,8026 | MTO VARIANT
243 X..20 | req=01 | PCN
250 X..30 | req=01,8006 req=21 | SECONDARY SERIAL
251 X..30 | req=01,8006 | REF. TO SOURCE
253 N13:csum [X..17] | dl | GDTI
254 X..20 | req=414 | GLN EXTENSION COMPONENT
255 N13:csum [N..12] | dl ex=01,02,415,8006,8020,8026 | GCN
30 N..8 | req=01,02 | VAR. COUNT
3100-3105 * N6 | req=01,02 ex=310n | NET WEIGHT (kg)
3110-3115 * N6 | req=01,02 ex=311n | LENGTH (m)
3120-3125 * N6 | req=01,02 ex=312n | WIDTH (m)
3130-3135 * N6 | req=01,02 ex=313n | HEIGHT (m)
3140-3145 * N6 | req=01,02 ex=314n | AREA (m2)
3150-3155 * N6 | req=01,02 ex=315n | NET VOLUME (l)
3160-3165 * N6 | req=01,02 ex=316n | NET VOLUME (m3)
3200-3205 * N6 | req=01,02 ex=320n | NET WEIGHT (lb)
3210-3215 * N6 | req=01,02 ex=321n | LENGTH (in)
3220-3225 * N6 | req=01,02 ex=322n | LENGTH (ft)
3230-3235 * N6 | req=01,02 ex=323n | LENGTH (yd)
3240-3245 * N6 | req=01,02 ex=324n | WIDTH (in)
3250-3255 * N6 | req=01,02 ex=325n | WIDTH (ft)
3260-3265 * N6 | req=01,02 ex=326n | WIDTH (yd)
3270-3275 * N6 | req=01,02 ex=327n | HEIGHT (in)
3280-3285 * N6 | req=01,02 ex=328n | HEIGHT (ft)
3290-3295 * N6 | req=01,02 ex=329n | HEIGHT (yd)
3300-3305 * N6 | req=00,01 ex=330n | GROSS WEIGHT (kg)
3310-3315 * N6 | req=00,01 ex=331n | LENGTH (m), log
3320-3325 * N6 | req=00,01 ex=332n | WIDTH (m), log
3330-3335 * N6 | req=00,01 ex=333n | HEIGHT (m), log
3340-3345 * N6 | req=00,01 ex=334n | AREA (m2), log
3350-3355 * N6 | req=00,01 ex=335n | VOLUME (l), log
3360-3365 * N6 | req=00,01 ex=336n | VOLUME (m3), log
3370-3375 * N6 | req=01 ex=337n | KG PER m2
3400-3405 * N6 | req=00,01 ex=340n | GROSS WEIGHT (lb)
3410-3415 * N6 | req=00,01 ex=341n | LENGTH (in), log
3420-3425 * N6 | req=00,01 ex=342n | LENGTH (ft), log
3430-3435 * N6 | req=00,01 ex=343n | LENGTH (yd), log
3440-3445 * N6 | req=00,01 ex=344n | WIDTH (in), log
3450-3455 * N6 | req=00,01 ex=345n | WIDTH (ft), log
3460-3465 * N6 | req=00,01 ex=346n | WIDTH (yd), log
3470-3475 * N6 | req=00,01 ex=347n | HEIGHT (in), log
3480-3485 * N6 | req=00,01 ex=348n | HEIGHT (ft), log
3490-3495 * N6 | req=00,01 ex=349n | HEIGHT (yd), log
3500-3505 * N6 | req=01,02 ex=350n | AREA (in2)
3510-3515 * N6 | req=01,02 ex=351n | AREA (ft2)
3520-3525 * N6 | req=01,02 ex=352n | AREA (yd2)
3530-3535 * N6 | req=00,01 ex=353n | AREA (in2), log
3540-3545 * N6 | req=00,01 ex=354n | AREA (ft2), log
3550-3555 * N6 | req=00,01 ex=355n | AREA (yd2), log
3560-3565 * N6 | req=01,02 ex=356n | NET WEIGHT (t oz)
3570-3575 * N6 | req=01,02 ex=357n | NET VOLUME (oz)
3600-3605 * N6 | req=01,02 ex=360n | NET VOLUME (qt)
3610-3615 * N6 | req=01,02 ex=361n | NET VOLUME (gal.)
3620-3625 * N6 | req=00,01 ex=362n | VOLUME (qt), log
3630-3635 * N6 | req=00,01 ex=363n | VOLUME (gal.), log
3640-3645 * N6 | req=01,02 ex=364n | VOLUME (in3)
3650-3655 * N6 | req=01,02 ex=365n | VOLUME (ft3)
3660-3665 * N6 | req=01,02 ex=366n | VOLUME (yd3)
3670-3675 * N6 | req=00,01 ex=367n | VOLUME (in3), log
3680-3685 * N6 | req=00,01 ex=368n | VOLUME (ft3), log
3690-3695 * N6 | req=00,01 ex=369n | VOLUME (yd3), log
37 N..8 | req=00 req=02,8026 | COUNT
3900-3909 N..15 | req=255,8020 ex=390n,391n,394n,8111 | AMOUNT
3910-3919 N3 N..15 | req=8020 ex=391n | AMOUNT
3920-3929 N..15 | req=01 req=30,31nn,32nn,35nn,36nn ex=392n,393n | PRICE
3930-3939 N3 N..15 | req=30,31nn,32nn,35nn,36nn ex=393n | PRICE
3940-3943 N4 | req=255 ex=394n,8111 | PRCNT OFF
3950-3955 N6 | req=30,31nn,32nn,35nn,36nn ex=392n,393n,395n,8005 | PRICE/UoM
400 X..30 | | ORDER NUMBER
401 X..30 | dl | GINC
402 N17:csum | dl | GSIN
403 X..30 | req=00 | ROUTE
410 * N13:csum | | SHIP TO LOC
411 * N13:csum | | BILL TO
412 * N13:csum | | PURCHASE FROM
413 * N13:csum | | SHIP FOR LOC
414 * N13:csum | dl=254|7040 | LOC No.
415 * N13:csum | req=8020 dl=8020 | PAY TO
416 * N13:csum | | PROD/SERV LOC
417 * N13:csum | dl=7040 | PARTY
420 X..20 | ex=421 | SHIP TO POST
421 N3 X..9 | ex=4307 | SHIP TO POST
422 N3 | req=01,02,8006,8026 ex=426 | ORIGIN
423 N..15:iso3166list | req=01,02 ex=426 | COUNTRY - INITIAL PROCESS
424 N3 | req=01,02 ex=426 | COUNTRY - PROCESS
425 N..15:iso3166list | req=01,02 ex=426 | COUNTRY - DISASSEMBLY
426 N3 | req=01,02 | COUNTRY - FULL PROCESS
427 X..3 | req=01,02 req=422 | ORIGIN SUBDIVISION
4300 X..35:pcenc | req=00 | SHIP TO COMP
4301 X..35:pcenc | req=00 | SHIP TO NAME
4302 X..70:pcenc | req=00 | SHIP TO ADD1
4303 X..70:pcenc | req=4302 | SHIP TO ADD2
4304 X..70:pcenc | req=00 | SHIP TO SUB
4305 X..70:pcenc | req=00 | SHIP TO LOC
4306 X..70:pcenc | req=00 | SHIP TO REG
4307 X2:alpha2 | req=00 | SHIP TO COUNTRY
4308 X..30 | req=00 | SHIP TO PHONE
4309 N10:latitude N10:longitude | req=00 | SHIP TO GEO
4310 X..35:pcenc | req=00 | RTN TO COMP
4311 X..35:pcenc | req=00 | RTN TO NAME
4312 X..70:pcenc | req=00 | RTN TO ADD1
4313 X..70:pcenc | req=4312 | RTN TO ADD2
4314 X..70:pcenc | req=00 | RTN TO SUB
4315 X..70:pcenc | req=00 | RTN TO LOC
4316 X..70:pcenc | req=00 | RTN TO REG
4317 X2:alpha2 | req=00 | RTN TO COUNTRY
4318 X..20 | req=00 | RTN TO POST
4319 X..30 | req=00 | RTN TO PHONE
4320 X..35:pcenc | req=00 | SRV DESCRIPTION
4321 N1:yesno | req=00 | DANGEROUS GOODS
4322 N1:yesno | req=00 | AUTH TO LEAVE
4323 N1:yesno | req=00 | SIG REQUIRED
4324 N6:yymmd0 N4:hhmm | req=00 | NOT BEF DEL DT
4325 N6:yymmd0 N4:hhmm | req=00 | NOT AFT DEL DT
4326 N6:yymmdd | req=00 | REL DATE
4330 N6 [X1]:hyphen | req=00 ex=4331 | MAX TEMP F.
4331 N6 [X1]:hyphen | req=00 ex=4330 | MAX TEMP C.
4332 N6 [X1]:hyphen | req=00 ex=4333 | MIN TEMP F.
4333 N6 [X1]:hyphen | req=00 ex=4332 | MIN TEMP C.
7001 N13 | req=01,02,8006,8026 | NSN
7002 X..30 | req=01,02 | MEAT CUT
7003 N6:yymmdd N4:hhmm | req=01,02 | EXPIRY TIME
7004 N..4 | req=01 req=10 | ACTIVE POTENCY
7005 X..12 | req=01,02 | CATCH AREA
7006 N6:yymmdd | req=01,02 | FIRST FREEZE DATE
7007 N6:yymmdd [N6]:yymmdd | req=01,02 | HARVEST DATE
7008 X..3 | req=01,02 | AQUATIC SPECIES
7009 X..10 | req=01,02 | FISHING GEAR TYPE
7010 X..2 | req=01,02 | PROD METHOD
7011 N6:yymmdd [N4]:hhmm | req=01,02 | TEST BY DATE
7020 X..20 | req=01,8006 req=416 | REFURB LOT
7021 X..20 | req=01,8006 | FUNC STAT
7022 X..20 | req=7021 | REV STAT
7023 X..30 | | GIAI - ASSEMBLY
7030-7039 N3 X..27 | req=01,02 | PROCESSOR
7040 N1 X1 X1 X1 | | UIC+EXT
7041 X..4 | req=00 | UFRGT UNIT TYPE
710 X..20 | req=01 | NHRN PZN
711 X..20 | req=01 | NHRN CIP
712 X..20 | req=01 | NHRN CN
713 X..20 | req=01 | NHRN DRN
714 X..20 | req=01 | NHRN AIM
715 X..20 | req=01 | NHRN NDC
716 X..20 | req=01 | NHRN AIC
717 X..20 | req=01 | NHRN SRN
7230-7239 X2 X..28 | req=01,8004 | CERT
7240 X..20 | req=01,8006 | PROTOCOL
7241 N2 | req=8017,8018 | AIDC MEDIA TYPE
7242 X..25 | req=8017,8018 | VCN
7250 N8:yyyymmdd | req=8018 | DOB
7251 N12:yyyymmddhhmm | req=8018 | DOB TIME
7252 N1 | req=8018 | BIO SEX
7253 X..40:pcenc | req=8018 | FAMILY NAME
7254 X..40:pcenc | req=8018 | GIVEN NAME
7255 X..10 | req=8018 | SUFFIX
7256 X..90:pcenc | req=8018 | FULL NAME
7257 X..70:pcenc | req=8018 | PERSON ADDR
7258 N1 X1:slash N1 | req=8018 | BIRTH SEQUENCE
7259 X..40:pcenc | req=8018 | BABY
8001 N4:nonzero N5:nonzero N3:nonzero N1:winding N1 | req=01 | DIMENSIONS
8002 X..20 | | CMT No.
8003 N1:zero N13:csum [X..16] | dl | GRAI
8004 X..30 | dl=7040 | GIAI
8005 N6 | req=01,02 | PRICE PER UNIT
8006 N14:csum N4:pieceoftotal | ex=01,37 dl=22,10,21 | ITIP
8007 X..34:iban | req=415 | IBAN
8008 N8:yymmddhh [N..4]:mmoptss | req=01,02 | PROD TIME
8009 X..50 | req=00,01 | OPTSEN
8010 Y..30 | dl=8011 | CPID
8011 N..12:nozeroprefix | req=8010 | CPID SERIAL
8012 X..20 | req=01,8006 | VERSION
8013 X..25:csumalpha | dl | GMN
8014 X..25:csumalpha | | MUDI
8017 N18:csum | ex=8018 dl=8019 | GSRN - PROVIDER
8018 N18:csum | ex=8017 dl=8019 | GSRN - RECIPIENT
8019 N..10 | req=8017,8018 | SRIN
8020 X..25 | req=415 | REF No.
8026 N14:csum N4:pieceoftotal | req=37 ex=02,8006 | ITIP CONTENT
8030 Z..90 | req=00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018 | DIGSIG
8040 N15 | | IMEI
8041 N15 | | IMEI2
8042 N32 | | ESIM
8043 N18 [N..2] | | PSIM
8110 X..70 | | COUPON
8111 N4 | req=255 | POINTS
8112 X..70 | | PAPERLESS COUPON
8200 X..70 | req=01 | PRODUCT URL
90 X..30 | | INTERNAL
91-99 X..90 | | INTERNAL
"""

PREDEFINED_LENGTHS: dict[str, int] = {
    "00": 18, "01": 14, "02": 14, "03": 14, "04": 16,
    "11": 6, "12": 6, "13": 6, "14": 6, "15": 6, "16": 6, "17": 6, "18": 6, "19": 6, "20": 2,
    "31": 6, "32": 6, "33": 6, "34": 6, "35": 6, "36": 6, "41": 13,
}  # fmt: skip
"""GenSpec 7.8.5 (figure 5.10.1-2): AI prefixes whose data has a predefined length, without
the AI; no GS separator is needed after them."""


def _component(text: str) -> Component:
    optional = text.startswith("[")
    spec, *checks = text.replace("[", "").replace("]", "").split(":")
    charset, length = spec[0], spec[1:]
    if length.startswith(".."):
        low, high = 1, int(length[2:])
    else:
        low = high = int(length)
    return Component(charset, low, high, optional, tuple(checks))


def _ai_range(text: str) -> list[str]:
    first, _, last = text.partition("-")
    if not last:
        return [first]
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def _build() -> dict[str, AIDefinition]:
    table: dict[str, AIDefinition] = {}
    for line in _SPEC.strip().splitlines():
        format_part, rules_part, title = (part.strip() for part in line.split("|", 2)[:3])
        ais_text, *format_words = format_part.split(" ")
        predefined = bool(format_words) and format_words[0] == "*"
        if predefined:
            format_words = format_words[1:]
        components = tuple(_component(word) for word in format_words)
        requires: list[tuple[tuple[str, ...], ...]] = []
        excludes: list[str] = []
        dl_key = False
        dl_qualifiers: tuple[tuple[str, ...], ...] = ()
        for rule in rules_part.split():
            name, _, value = rule.partition("=")
            if name == "req":
                requires.append(tuple(tuple(alt.split("+")) for alt in value.split(",")))
            elif name == "ex":
                excludes.extend(value.split(","))
            elif name == "dl":
                dl_key = True
                if value:
                    dl_qualifiers = tuple(tuple(seq.split(",")) for seq in value.split("|"))
            else:  # pragma: no cover - a typo in _SPEC
                raise ValueError(f"unknown rule {rule!r} in AI table line {line!r}")
        for ai in _ai_range(ais_text):
            table[ai] = AIDefinition(
                ai=ai,
                title=title,
                predefined_length=predefined,
                components=components,
                min_length=sum(c.min_length for c in components if not c.optional),
                max_length=sum(c.max_length for c in components),
                requires=tuple(requires),
                excludes=tuple(excludes),
                dl_primary_key=dl_key,
                dl_qualifiers=dl_qualifiers,
            )
    return _expand_rules(table)


def _matching(pattern: str, ais: list[str]) -> frozenset[str]:
    return frozenset(
        ai
        for ai in ais
        if len(ai) == len(pattern)
        and all(want in ("n", have) for want, have in zip(pattern, ai, strict=True))
    )


def _expand_rules(table: dict[str, AIDefinition]) -> dict[str, AIDefinition]:
    """Resolve the `n` patterns of pairing rules into concrete AI sets, once at import."""
    ais = list(table)
    conflicts: dict[str, set[str]] = {ai: set() for ai in ais}
    for ai, definition in table.items():
        for pattern in definition.excludes:
            for other in _matching(pattern, ais) - {ai}:
                conflicts[ai].add(other)
                conflicts[other].add(ai)
    return {
        ai: replace(
            definition,
            required_sets=tuple(
                tuple(tuple(_matching(p, ais) for p in alternative) for alternative in group)
                for group in definition.requires
            ),
            conflicts=frozenset(conflicts[ai]),
        )
        for ai, definition in table.items()
    }


AI_TABLE: dict[str, AIDefinition] = _build()
"""Every known AI by its digits."""


def lookup_ai(text: str, start: int = 0) -> AIDefinition | None:
    """The AI that `text` begins with at `start` (AIs are prefix-free: at most one matches)."""
    for length in (2, 3, 4):
        definition = AI_TABLE.get(text[start : start + length])
        if definition is not None:
            return definition
    return None
