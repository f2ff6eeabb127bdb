"""A deterministic B2B catalog of water-analysis and lab instruments, industrial sensors and
consumables, for the search evaluation and the benchmark.

``generate(n, seed)`` returns ``n`` products: mostly Spanish (the brands NorthStream, Kelvix
and Sentrix write in English), with SKUs such as ``HL-TUR-05231``, model numbers in the names
(``TU-5200``), prices, legacy HTML descriptions (Word exports, ``<font>``, entities, stray
``<script>``) and spec tables with units (NTU, mg/L, µS/cm, °C, bar, 4-20 mA).

Ranking has to work for it: an instrument model comes in several SKUs (ranges, outputs, kits),
several brands sell the same kind of instrument with the same range, and consumables name the
models they fit. Each product also keeps the attributes it was written from (family, variant,
range, output, applications, features, compatible models) so that labelled queries can be
judged against the data itself; those attributes are not exported to the catalog file.

``python -m benchmarks.catalog_data -n 200 -o sample.csv`` writes a sample to look at.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --- vocabulary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A phrase in Spanish and in English."""

    es: str
    en: str

    def get(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


@dataclass(frozen=True)
class Brand:
    name: str
    prefix: str
    lang: str = "es"


BRANDS = {
    b.name: b
    for b in (
        Brand("Hidrolab", "HL"),
        Brand("AquaSense", "AQ"),
        Brand("Indusens", "IS"),
        Brand("Metrika", "MK"),
        Brand("Termika", "TK"),
        Brand("Fluxa", "FX"),
        Brand("OptiLab", "OL"),
        Brand("LabQuímica", "LQ"),
        Brand("ProcesTec", "PC"),
        Brand("NorthStream", "NS", "en"),
        Brand("Kelvix", "KX", "en"),
        Brand("Sentrix", "SX", "en"),
    )
}

APPS = {
    "agua_potable": Text("agua potable", "drinking water"),
    "aguas_residuales": Text("aguas residuales", "wastewater"),
    "piscinas": Text("piscinas", "swimming pools"),
    "acuicultura": Text("acuicultura", "aquaculture"),
    "alimentaria": Text("industria alimentaria", "the food industry"),
    "bebidas": Text("embotelladoras de bebidas", "beverage bottling"),
    "calderas": Text("agua de calderas", "boiler water"),
    "hidroponia": Text("hidroponía", "hydroponics"),
    "rios": Text("ríos y lagos", "rivers and lakes"),
    "farmaceutica": Text("industria farmacéutica", "the pharmaceutical industry"),
    "quimica": Text("industria química", "the chemical industry"),
    "hvac": Text("climatización HVAC", "HVAC systems"),
    "redes": Text("redes de distribución de agua", "water distribution networks"),
    "riego": Text("riego agrícola", "irrigation"),
    "tanques": Text("tanques y depósitos", "tanks and vessels"),
    "hidraulica": Text("sistemas hidráulicos", "hydraulic systems"),
    "mineria": Text("minería", "mining"),
}

OUTPUTS = {
    "": Text("", ""),
    "4-20mA": Text("4-20 mA", "4-20 mA"),
    "hart": Text("4-20 mA + HART", "4-20 mA + HART"),
    "0-10V": Text("0-10 V", "0-10 V"),
    "modbus": Text("RS-485 Modbus RTU", "RS-485 Modbus RTU"),
    "pulse": Text("4-20 mA y pulsos", "4-20 mA and pulse"),
}
ANALOG = ("4-20mA", "hart", "0-10V", "modbus")


@dataclass(frozen=True)
class Range:
    lo: str
    hi: str
    unit: str

    def text(self, lang: str, style: int = 0) -> str:
        lo, hi = (_number(v, lang) for v in (self.lo, self.hi))
        if lang == "en":
            return f"{lo} to {hi} {self.unit}" if style % 2 else f"{lo}-{hi} {self.unit}"
        pattern = ("{lo}-{hi} {u}", "{lo} a {hi} {u}", "{lo}…{hi} {u}", "{lo} \u2013 {hi} {u}")[
            style % 4
        ]
        return pattern.format(lo=lo, hi=hi, u=self.unit)


def _number(value: str, lang: str) -> str:
    return value.replace(".", ",") if lang == "es" else value


def ranges(unit: str, *bounds: tuple[str, str]) -> tuple[Range, ...]:
    return tuple(Range(lo, hi, unit) for lo, hi in bounds)


def upto(unit: str, *highs: str) -> tuple[Range, ...]:
    return tuple(Range("0", hi, unit) for hi in highs)


# --- instrument families ------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    key: str
    label: Text  # "portátil" / "portable"
    ranges: tuple[Range, ...] = ()
    outputs: tuple[str, ...] = ("",)
    noun: Text | None = None  # instead of the family's noun
    features: tuple[tuple[str, str], ...] = ()  # fixed features, e.g. the sensor type
    price_factor: float = 1.0
    industrial: bool = False


@dataclass(frozen=True)
class Feature:
    key: str
    label: Text
    values: tuple[tuple[str, Text], ...]


@dataclass(frozen=True)
class Family:
    code: str
    category: Text
    nouns: tuple[Text, ...]
    need: Text  # how a customer names it: "turbidímetro"
    measure: Text  # what it measures: "la turbidez"
    prefixes: tuple[str, ...]  # model-number prefixes
    variants: tuple[Variant, ...]
    apps: tuple[str, ...]
    brands: tuple[str, ...]
    details: tuple[Text, ...]
    base_price: float
    weight: float
    features: tuple[Feature, ...] = ()
    kind: str = "instrument"


PORTABLE = Text("portátil", "portable")
BENCH = Text("de laboratorio", "benchtop")
POCKET = Text("de bolsillo", "pocket")
ONLINE = Text("en línea", "online")
LINE_OUTPUTS = ("4-20mA", "hart", "modbus")

TUR = Family(
    code="TUR",
    category=Text("Turbidímetros", "Turbidimeters"),
    nouns=(Text("Turbidímetro", "Turbidimeter"),),
    need=Text("turbidímetro", "turbidimeter"),
    measure=Text("la turbidez", "turbidity"),
    prefixes=("TU", "TB"),
    variants=(
        Variant("portatil", PORTABLE, upto("NTU", "1000", "100", "4000")),
        Variant("mesa", BENCH, upto("NTU", "4000", "10000", "1000"), price_factor=1.8),
        Variant("linea", ONLINE, upto("NTU", "100", "20", "1000"), LINE_OUTPUTS, price_factor=2.5),
    ),
    apps=("agua_potable", "aguas_residuales", "bebidas", "redes", "farmaceutica"),
    brands=("Hidrolab", "AquaSense", "OptiLab", "NorthStream", "Metrika"),
    details=(
        Text(
            "Medición nefelométrica a 90° con fuente LED infrarroja.",
            "90° nephelometric measurement with an infrared LED source.",
        ),
        Text(
            "Calibración en 3 puntos con patrones de formazina o de polímero.",
            "Three-point calibration with formazin or polymer standards.",
        ),
        Text(
            "Lectura estable en muestras con color gracias a la relación de señales.",
            "Ratio mode keeps readings stable in coloured samples.",
        ),
    ),
    features=(
        Feature(
            "norma",
            Text("Norma", "Standard"),
            (("iso7027", Text("ISO 7027", "ISO 7027")), ("epa", Text("EPA 180.1", "EPA 180.1"))),
        ),
    ),
    base_price=1400,
    weight=0.06,
)

PH = Family(
    code="PH",
    category=Text("Medidores de pH", "pH meters"),
    nouns=(Text("Medidor de pH", "pH meter"),),
    need=Text("medidor de pH", "pH meter"),
    measure=Text("el pH", "pH"),
    prefixes=("PH", "HP"),
    variants=(
        Variant("bolsillo", POCKET, ranges("pH", ("0", "14")), price_factor=0.15),
        Variant("portatil", PORTABLE, ranges("pH", ("0", "14"), ("-2", "16"))),
        Variant("mesa", BENCH, ranges("pH", ("-2", "16"), ("0", "14")), price_factor=1.5),
        Variant(
            "linea",
            ONLINE,
            ranges("pH", ("0", "14")),
            LINE_OUTPUTS,
            noun=Text("Transmisor de pH/ORP", "pH/ORP transmitter"),
            price_factor=1.7,
        ),
    ),
    apps=("hidroponia", "piscinas", "alimentaria", "aguas_residuales", "agua_potable", "calderas"),
    brands=("Hidrolab", "AquaSense", "Metrika", "LabQuímica", "Kelvix"),
    details=(
        Text(
            "Compensación automática de temperatura (ATC).",
            "Automatic temperature compensation (ATC).",
        ),
        Text(
            "Calibración automática de hasta 5 puntos con reconocimiento de tampones.",
            "Automatic calibration of up to 5 points with buffer recognition.",
        ),
        Text(
            "Indicador de estado del electrodo y recordatorio de calibración.",
            "Electrode condition indicator and calibration reminder.",
        ),
    ),
    features=(
        Feature(
            "resolucion",
            Text("Resolución", "Resolution"),
            (
                ("0.1", Text("0,1 pH", "0.1 pH")),
                ("0.01", Text("0,01 pH", "0.01 pH")),
                ("0.001", Text("0,001 pH", "0.001 pH")),
            ),
        ),
    ),
    base_price=520,
    weight=0.07,
)

CON = Family(
    code="CON",
    category=Text("Conductividad", "Conductivity"),
    nouns=(
        Text("Conductímetro", "Conductivity meter"),
        Text("Medidor de conductividad y TDS", "Conductivity and TDS meter"),
    ),
    need=Text("conductímetro", "conductivity meter"),
    measure=Text("la conductividad", "conductivity"),
    prefixes=("CD", "EC"),
    variants=(
        Variant(
            "bolsillo",
            POCKET,
            ranges("µS/cm", ("0", "2000")) + ranges("mS/cm", ("0", "20")),
            price_factor=0.2,
        ),
        Variant(
            "portatil",
            PORTABLE,
            ranges("mS/cm", ("0", "200"), ("0", "20")) + ranges("µS/cm", ("0", "2000")),
        ),
        Variant("mesa", BENCH, ranges("mS/cm", ("0", "200"), ("0", "500")), price_factor=1.6),
        Variant(
            "linea",
            ONLINE,
            ranges("µS/cm", ("0", "2000"), ("0", "200")) + ranges("mS/cm", ("0", "20")),
            LINE_OUTPUTS,
            price_factor=1.8,
        ),
    ),
    apps=("calderas", "agua_potable", "hidroponia", "farmaceutica", "riego", "alimentaria"),
    brands=("AquaSense", "Hidrolab", "Metrika", "Sentrix"),
    details=(
        Text(
            "Mide también sólidos disueltos totales (TDS) y salinidad.",
            "Also reads total dissolved solids (TDS) and salinity.",
        ),
        Text(
            "Cambio automático de escala y referencia a 20 o 25 °C.",
            "Auto-ranging with reference temperature of 20 or 25 °C.",
        ),
    ),
    base_price=640,
    weight=0.05,
)

DOX = Family(
    code="OD",
    category=Text("Oxígeno disuelto", "Dissolved oxygen"),
    nouns=(Text("Medidor de oxígeno disuelto", "Dissolved oxygen meter"),),
    need=Text("medidor de oxígeno disuelto", "dissolved oxygen meter"),
    measure=Text("el oxígeno disuelto", "dissolved oxygen"),
    prefixes=("OD", "DO"),
    variants=(
        Variant("portatil", PORTABLE, upto("mg/L", "20", "50")),
        Variant("mesa", BENCH, upto("mg/L", "50", "20"), price_factor=1.4),
        Variant(
            "linea",
            ONLINE,
            upto("mg/L", "20", "50"),
            LINE_OUTPUTS,
            noun=Text("Analizador de oxígeno disuelto", "Dissolved oxygen analyzer"),
            price_factor=2.2,
        ),
    ),
    apps=("acuicultura", "aguas_residuales", "rios", "bebidas"),
    brands=("AquaSense", "Hidrolab", "Sentrix", "Indusens"),
    details=(
        Text(
            "Compensación de salinidad y presión barométrica.",
            "Salinity and barometric pressure compensation.",
        ),
        Text(
            "Lectura en mg/L y en % de saturación.",
            "Readings in mg/L and % saturation.",
        ),
    ),
    features=(
        Feature(
            "tecnologia",
            Text("Tecnología", "Technology"),
            (
                ("optico", Text("óptica (luminiscencia)", "optical (luminescence)")),
                ("polarografico", Text("polarográfica", "polarographic")),
                ("galvanico", Text("galvánica", "galvanic")),
            ),
        ),
    ),
    base_price=1100,
    weight=0.05,
)

CLO = Family(
    code="CL",
    category=Text("Cloro", "Chlorine"),
    nouns=(
        Text("Colorímetro de cloro", "Chlorine colorimeter"),
        Text("Fotómetro de cloro", "Chlorine photometer"),
    ),
    need=Text("colorímetro de cloro", "chlorine colorimeter"),
    measure=Text("el cloro", "chlorine"),
    prefixes=("CL", "CLR"),
    variants=(
        Variant("portatil", PORTABLE, upto("mg/L", "5", "10", "2.5")),
        Variant("bolsillo", POCKET, upto("mg/L", "2.5", "5"), price_factor=0.4),
        Variant(
            "linea",
            ONLINE,
            upto("mg/L", "5", "10", "20"),
            LINE_OUTPUTS,
            noun=Text("Analizador de cloro", "Chlorine analyzer"),
            price_factor=4.0,
        ),
    ),
    apps=("piscinas", "agua_potable", "aguas_residuales", "alimentaria", "redes"),
    brands=("Hidrolab", "LabQuímica", "OptiLab", "NorthStream"),
    details=(
        Text("Método DPD según ISO 7393-2.", "DPD method as in ISO 7393-2."),
        Text(
            "Cubetas de 10 mL y ajuste de cero con la propia muestra.",
            "10 mL sample cells, zeroed on the sample itself.",
        ),
    ),
    features=(
        Feature(
            "cloro",
            Text("Parámetro", "Parameter"),
            (
                ("libre", Text("cloro libre", "free chlorine")),
                ("libre_total", Text("cloro libre y total", "free and total chlorine")),
                ("total", Text("cloro total", "total chlorine")),
            ),
        ),
    ),
    base_price=380,
    weight=0.06,
)

MPA = Family(
    code="MP",
    category=Text("Sondas multiparamétricas", "Multiparameter"),
    nouns=(Text("Sonda multiparamétrica", "Multiparameter sonde"),),
    need=Text("sonda multiparamétrica", "multiparameter sonde"),
    measure=Text("la calidad del agua", "water quality"),
    prefixes=("MP", "MX"),
    variants=(
        Variant("sumergible", Text("sumergible", "submersible"), price_factor=1.5),
        Variant(
            "portatil",
            PORTABLE,
            noun=Text("Medidor multiparámetro", "Multiparameter meter"),
        ),
    ),
    apps=("rios", "acuicultura", "aguas_residuales", "agua_potable"),
    brands=("AquaSense", "Sentrix", "Hidrolab"),
    details=(
        Text("Registro interno de 500.000 datos.", "Internal log of 500,000 readings."),
        Text("Cuerpo de titanio y limpiador automático.", "Titanium body with automatic wiper."),
    ),
    features=(
        Feature(
            "parametros",
            Text("Parámetros", "Parameters"),
            (
                ("3", Text("pH, conductividad y temperatura", "pH, conductivity, temperature")),
                ("4", Text("pH, conductividad, OD y temperatura", "pH, conductivity, DO, temp.")),
                (
                    "6",
                    Text(
                        "pH, ORP, conductividad, OD, turbidez y temperatura",
                        "pH, ORP, conductivity, DO, turbidity, temperature",
                    ),
                ),
            ),
        ),
    ),
    base_price=4200,
    weight=0.03,
)

PRE = Family(
    code="PRE",
    category=Text("Presión", "Pressure"),
    nouns=(Text("Transmisor de presión", "Pressure transmitter"),),
    need=Text("transmisor de presión", "pressure transmitter"),
    measure=Text("la presión", "pressure"),
    prefixes=("PR", "PX", "PS"),
    variants=(
        Variant(
            "relativa",
            Text("relativa", "gauge"),
            upto("bar", "1", "2.5", "6", "10", "16", "25", "40", "100", "250", "400"),
            ANALOG,
            industrial=True,
        ),
        Variant(
            "absoluta",
            Text("absoluta", "absolute"),
            upto("bar", "1", "2.5", "6", "10", "16", "25"),
            ANALOG,
            price_factor=1.2,
            industrial=True,
        ),
        Variant(
            "diferencial",
            Text("diferencial", "differential"),
            upto("bar", "1", "2.5", "6"),
            ANALOG,
            price_factor=1.9,
            industrial=True,
        ),
    ),
    apps=("hidraulica", "redes", "hvac", "quimica", "alimentaria"),
    brands=("Indusens", "ProcesTec", "Kelvix", "Metrika"),
    details=(
        Text(
            "Célula piezorresistiva con membrana de acero inoxidable 316L.",
            "Piezoresistive cell with a 316L stainless steel diaphragm.",
        ),
        Text("Precisión ±0,25 % del fondo de escala.", "Accuracy ±0.25 % of full scale."),
        Text("Protección IP67 y conector M12.", "IP67 protection and M12 connector."),
    ),
    features=(
        Feature(
            "conexion",
            Text("Conexión a proceso", "Process connection"),
            (
                ("g12", Text('G1/2"', 'G1/2"')),
                ("npt12", Text('1/2" NPT', '1/2" NPT')),
                ("g14", Text('G1/4"', 'G1/4"')),
            ),
        ),
    ),
    base_price=290,
    weight=0.09,
)

_TC = Text("termopar tipo K", "type K thermocouple")
TEM = Family(
    code="TEM",
    category=Text("Temperatura", "Temperature"),
    nouns=(Text("Transmisor de temperatura", "Temperature transmitter"),),
    need=Text("transmisor de temperatura", "temperature transmitter"),
    measure=Text("la temperatura", "temperature"),
    prefixes=("TT", "TX"),
    variants=(
        Variant(
            "pt100_tx",
            Text("Pt100", "Pt100"),
            ranges("°C", ("-50", "150"), ("0", "400"), ("-200", "600"), ("-50", "250")),
            ANALOG,
            features=(("sensor", "pt100"),),
            industrial=True,
        ),
        Variant(
            "pt100",
            Text("Pt100", "Pt100"),
            ranges("°C", ("-50", "150"), ("-50", "250"), ("0", "400")),
            noun=Text("Sensor de temperatura", "Temperature sensor"),
            features=(("sensor", "pt100"),),
            price_factor=0.4,
            industrial=True,
        ),
        Variant(
            "pt1000",
            Text("Pt1000", "Pt1000"),
            ranges("°C", ("-50", "150"), ("-50", "250")),
            noun=Text("Sensor de temperatura", "Temperature sensor"),
            features=(("sensor", "pt1000"),),
            price_factor=0.45,
            industrial=True,
        ),
        Variant(
            "tc_k",
            _TC,
            ranges("°C", ("0", "1200"), ("0", "800")),
            ("", "4-20mA"),
            noun=Text("Sensor de temperatura", "Temperature sensor"),
            features=(("sensor", "tc_k"),),
            price_factor=0.6,
            industrial=True,
        ),
    ),
    apps=("alimentaria", "quimica", "hvac", "calderas", "farmaceutica"),
    brands=("Termika", "Indusens", "Kelvix", "ProcesTec"),
    details=(
        Text(
            "Vaina de acero inoxidable de 6 mm, longitud a elegir.",
            "6 mm stainless steel sheath, length to order.",
        ),
        Text(
            "Conexión a 3 hilos y cabezal DIN B.",
            "3-wire connection and DIN B head.",
        ),
    ),
    base_price=210,
    weight=0.07,
)

LEV = Family(
    code="LEV",
    category=Text("Nivel", "Level"),
    nouns=(Text("Transmisor de nivel", "Level transmitter"),),
    need=Text("transmisor de nivel", "level transmitter"),
    measure=Text("el nivel", "level"),
    prefixes=("LT", "LV"),
    variants=(
        Variant(
            "ultrasonico",
            Text("ultrasónico", "ultrasonic"),
            upto("m", "5", "8", "10", "15"),
            ANALOG,
            industrial=True,
        ),
        Variant(
            "radar",
            Text("radar", "radar"),
            upto("m", "10", "20", "30"),
            ANALOG,
            price_factor=2.2,
            industrial=True,
        ),
        Variant(
            "hidrostatico",
            Text("hidrostático sumergible", "submersible hydrostatic"),
            upto("m", "2", "5", "10", "20"),
            ("4-20mA", "modbus"),
            price_factor=0.8,
            industrial=True,
        ),
    ),
    apps=("tanques", "aguas_residuales", "redes", "quimica", "mineria"),
    brands=("Indusens", "ProcesTec", "Fluxa", "Kelvix"),
    details=(
        Text(
            "Medición sin contacto con compensación de temperatura.",
            "Non-contact measurement with temperature compensation.",
        ),
        Text("Configuración con dos botones y pantalla LCD.", "Two-button set-up and LCD."),
    ),
    base_price=650,
    weight=0.05,
)

FLO = Family(
    code="FLO",
    category=Text("Caudal", "Flow"),
    nouns=(Text("Medidor de caudal", "Flow meter"),),
    need=Text("medidor de caudal", "flow meter"),
    measure=Text("el caudal", "flow"),
    prefixes=("FM", "FL"),
    variants=(
        Variant(
            "electromagnetico",
            Text("electromagnético", "electromagnetic"),
            outputs=("pulse", "modbus", "hart"),
            industrial=True,
        ),
        Variant(
            "ultrasonico",
            Text("ultrasónico de abrazadera", "clamp-on ultrasonic"),
            outputs=("pulse", "modbus"),
            price_factor=1.3,
            industrial=True,
        ),
        Variant(
            "turbina",
            Text("de turbina", "turbine"),
            outputs=("pulse", "4-20mA"),
            price_factor=0.5,
            industrial=True,
        ),
    ),
    apps=("redes", "aguas_residuales", "riego", "alimentaria", "quimica"),
    brands=("Fluxa", "Indusens", "ProcesTec", "NorthStream"),
    details=(
        Text("Totalizador de 8 dígitos y caudal instantáneo.", "8-digit totaliser."),
        Text("Precisión ±0,5 % del valor medido.", "Accuracy ±0.5 % of reading."),
    ),
    features=(
        Feature(
            "dn",
            Text("Diámetro nominal", "Nominal size"),
            tuple((dn, Text(f"DN{dn}", f"DN{dn}")) for dn in ("25", "50", "80", "100", "150")),
        ),
    ),
    base_price=1300,
    weight=0.05,
)

SPE = Family(
    code="SPE",
    category=Text("Fotómetros y espectrofotómetros", "Photometers and spectrophotometers"),
    nouns=(Text("Fotómetro multiparámetro", "Multiparameter photometer"),),
    need=Text("fotómetro", "photometer"),
    measure=Text("nitratos, fosfatos y DQO", "nitrate, phosphate and COD"),
    prefixes=("SP", "PF"),
    variants=(
        Variant("portatil", PORTABLE),
        Variant(
            "uvvis",
            Text("UV-Vis", "UV-Vis"),
            ranges("nm", ("190", "1100")),
            noun=Text("Espectrofotómetro", "Spectrophotometer"),
            price_factor=5.0,
        ),
        Variant(
            "vis",
            Text("visible", "visible"),
            ranges("nm", ("320", "1100")),
            noun=Text("Espectrofotómetro", "Spectrophotometer"),
            price_factor=3.0,
        ),
    ),
    apps=("aguas_residuales", "agua_potable", "alimentaria", "mineria"),
    brands=("OptiLab", "Hidrolab", "LabQuímica", "NorthStream"),
    details=(
        Text(
            "Más de 200 métodos programados con lector de código de barras.",
            "Over 200 stored methods with barcode reader.",
        ),
        Text("Compatible con viales de 16 mm.", "Takes 16 mm vials."),
    ),
    base_price=1900,
    weight=0.03,
)

INSTRUMENTS = (TUR, PH, CON, DOX, CLO, MPA, PRE, TEM, LEV, FLO, SPE)
FAMILIES = {f.code: f for f in INSTRUMENTS}

KITS = {
    "": Text("", ""),
    "maletin": Text("kit completo con maletín", "complete kit with carrying case"),
    "certificado": Text("con certificado de calibración", "with calibration certificate"),
    "cable10": Text("con cable de 10 m", "with 10 m cable"),
}

# --- consumables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    key: str
    name: Text
    need: Text  # how a customer asks for it
    values: tuple[tuple[str, Text], ...] = (("", Text("", "")),)
    formats: tuple[tuple[str, Text], ...] = (("", Text("", "")),)
    compat: str = ""  # family code of the instruments it fits
    price: float = 40
    details: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Consumables:
    code: str
    category: Text
    items: tuple[Item, ...]
    brands: tuple[str, ...]
    weight: float
    kind: str = "consumable"


def _fmt(*pairs: tuple[str, str, str]) -> tuple[tuple[str, Text], ...]:
    return tuple((key, Text(es, en)) for key, es, en in pairs)


_DPD_FORMATS = _fmt(
    ("polvo100", "100 sobres en polvo", "100 powder pillows"),
    ("polvo1000", "1000 sobres en polvo", "1000 powder pillows"),
    ("tabletas", "250 tabletas", "250 tablets"),
)
_VOLUMES = _fmt(("250", "250 mL", "250 mL"), ("500", "500 mL", "500 mL"), ("1000", "1 L", "1 L"))

REA = Consumables(
    code="REA",
    category=Text("Reactivos", "Reagents"),
    brands=("Hidrolab", "LabQuímica", "OptiLab", "NorthStream"),
    weight=0.12,
    items=(
        Item(
            "dpd_libre",
            Text("Reactivo DPD para cloro libre", "DPD free chlorine reagent"),
            Text("reactivo DPD para cloro libre", "DPD reagent for free chlorine"),
            formats=_DPD_FORMATS,
            compat="CL",
            price=35,
        ),
        Item(
            "dpd_total",
            Text("Reactivo DPD para cloro total", "DPD total chlorine reagent"),
            Text("reactivo DPD para cloro total", "DPD reagent for total chlorine"),
            formats=_DPD_FORMATS,
            compat="CL",
            price=38,
        ),
        Item(
            "dqo",
            Text("Viales de reactivo DQO", "COD reagent vials"),
            Text("viales para DQO", "COD vials"),
            values=_fmt(
                ("150", "0-150 mg/L", "0-150 mg/L"),
                ("1500", "0-1500 mg/L", "0-1500 mg/L"),
                ("15000", "0-15000 mg/L", "0-15000 mg/L"),
            ),
            formats=_fmt(("25", "25 viales", "25 vials"), ("150", "150 viales", "150 vials")),
            compat="SPE",
            price=90,
            details=(Text("Digestión a 150 °C durante 2 horas.", "Digest at 150 °C for 2 h."),),
        ),
        Item(
            "fosfato",
            Text("Reactivo para fosfato (ortofosfato)", "Phosphate reagent (orthophosphate)"),
            Text("reactivo para medir fosfatos", "reagent to measure phosphate"),
            formats=_fmt(("100", "100 determinaciones", "100 tests")),
            compat="SPE",
            price=45,
        ),
        Item(
            "nitrato",
            Text("Reactivo para nitrato", "Nitrate reagent"),
            Text("reactivo para medir nitratos", "reagent to measure nitrate"),
            formats=_fmt(("100", "100 determinaciones", "100 tests")),
            compat="SPE",
            price=48,
        ),
        Item(
            "amonio",
            Text("Reactivo para amonio, método salicilato", "Ammonia reagent, salicylate method"),
            Text("reactivo para medir amonio", "reagent to measure ammonia"),
            formats=_fmt(("50", "50 determinaciones", "50 tests")),
            compat="SPE",
            price=52,
        ),
        Item(
            "dureza",
            Text("Reactivo para dureza total (EDTA)", "Total hardness reagent (EDTA)"),
            Text("reactivo para medir la dureza del agua", "reagent for water hardness"),
            formats=_fmt(("100", "100 determinaciones", "100 tests")),
            price=30,
        ),
    ),
)

_CONNECTORS = _fmt(
    ("bnc", "conector BNC", "BNC connector"),
    ("s7", "cabezal S7", "S7 head"),
    ("vp", "cabezal VP", "VP head"),
)
ELE = Consumables(
    code="ELE",
    category=Text("Electrodos", "Electrodes"),
    brands=("Hidrolab", "AquaSense", "Metrika", "Kelvix"),
    weight=0.10,
    items=(
        Item(
            "ph_gel",
            Text("Electrodo de pH combinado de gel", "Gel-filled combination pH electrode"),
            Text("electrodo de pH de gel", "gel pH electrode"),
            formats=_CONNECTORS,
            compat="PH",
            price=85,
        ),
        Item(
            "ph_doble",
            Text("Electrodo de pH de vidrio de doble unión", "Double-junction glass pH electrode"),
            Text("electrodo de pH de doble unión", "double junction pH electrode"),
            formats=_CONNECTORS,
            compat="PH",
            price=140,
        ),
        Item(
            "ph_lanza",
            Text("Electrodo de pH de punta de lanza", "Spear-tip pH electrode"),
            Text(
                "electrodo de pH para pinchar carne y queso",
                "pH electrode to pierce meat and cheese",
            ),
            formats=_CONNECTORS,
            compat="PH",
            price=160,
            details=(
                Text(
                    "Punta cónica para penetrar alimentos sólidos: carne, queso, fruta.",
                    "Conical tip to penetrate solid food: meat, cheese, fruit.",
                ),
            ),
        ),
        Item(
            "orp",
            Text("Electrodo de ORP (redox) de platino", "Platinum ORP (redox) electrode"),
            Text("electrodo de ORP", "ORP electrode"),
            formats=_CONNECTORS,
            compat="PH",
            price=120,
        ),
        Item(
            "celda_k",
            Text("Célula de conductividad", "Conductivity cell"),
            Text("célula de conductividad", "conductivity cell"),
            values=_fmt(("0.1", "K=0,1", "K=0.1"), ("1", "K=1", "K=1"), ("10", "K=10", "K=10")),
            compat="CON",
            price=150,
        ),
    ),
)

BUF = Consumables(
    code="BUF",
    category=Text("Soluciones de calibración", "Calibration solutions"),
    brands=("Hidrolab", "LabQuímica", "AquaSense", "Sentrix"),
    weight=0.10,
    items=(
        Item(
            "tampon",
            Text("Solución tampón", "Buffer solution"),
            Text("solución tampón", "buffer solution"),
            values=_fmt(
                ("4.01", "pH 4,01", "pH 4.01"),
                ("7.00", "pH 7,00", "pH 7.00"),
                ("10.01", "pH 10,01", "pH 10.01"),
            ),
            formats=_VOLUMES,
            compat="PH",
            price=18,
        ),
        Item(
            "tampon_kit",
            Text("Kit de soluciones tampón pH 4, 7 y 10", "pH buffer kit 4, 7 and 10"),
            Text("kit de soluciones tampón para calibrar", "buffer kit to calibrate"),
            formats=_VOLUMES,
            compat="PH",
            price=42,
        ),
        Item(
            "patron_cond",
            Text("Solución patrón de conductividad", "Conductivity standard solution"),
            Text("solución patrón de conductividad", "conductivity standard"),
            values=_fmt(
                ("84", "84 µS/cm", "84 µS/cm"),
                ("1413", "1413 µS/cm", "1413 µS/cm"),
                ("12880", "12,88 mS/cm", "12.88 mS/cm"),
            ),
            formats=_VOLUMES,
            compat="CON",
            price=24,
        ),
        Item(
            "patron_turb",
            Text("Estándar de turbidez de formazina", "Formazin turbidity standard"),
            Text("estándar de turbidez", "turbidity standard"),
            values=_fmt(
                ("20", "20 NTU", "20 NTU"),
                ("100", "100 NTU", "100 NTU"),
                ("800", "800 NTU", "800 NTU"),
                ("4000", "4000 NTU", "4000 NTU"),
            ),
            formats=_fmt(("500", "500 mL", "500 mL")),
            compat="TUR",
            price=65,
        ),
        Item(
            "kcl",
            Text("Solución de almacenamiento KCl 3 M", "KCl 3 M storage solution"),
            Text(
                "solución para guardar electrodos de pH",
                "solution to store pH electrodes",
            ),
            formats=_VOLUMES,
            compat="PH",
            price=15,
        ),
    ),
)

ACC = Consumables(
    code="ACC",
    category=Text("Accesorios y repuestos", "Accessories and spare parts"),
    brands=("Hidrolab", "AquaSense", "Indusens", "NorthStream"),
    weight=0.07,
    items=(
        Item(
            "cubetas",
            Text("Cubetas de vidrio para turbidímetro", "Glass sample cells for turbidimeter"),
            Text("cubetas de repuesto para turbidímetro", "spare cells for turbidimeter"),
            formats=_fmt(("3", "juego de 3", "set of 3"), ("6", "juego de 6", "set of 6")),
            compat="TUR",
            price=30,
        ),
        Item(
            "membranas",
            Text(
                "Kit de membranas de repuesto para sensor de oxígeno",
                "Replacement membrane kit for oxygen sensor",
            ),
            Text(
                "membranas de repuesto para el sensor de oxígeno",
                "spare membranes for the oxygen sensor",
            ),
            compat="OD",
            price=75,
        ),
        Item(
            "cable",
            Text("Cable de extensión para sensor", "Sensor extension cable"),
            Text("cable de extensión para el sensor", "extension cable for the sensor"),
            values=_fmt(("5", "5 m", "5 m"), ("10", "10 m", "10 m"), ("20", "20 m", "20 m")),
            compat="MP",
            price=60,
        ),
        Item(
            "maletin",
            Text("Maletín de transporte rígido", "Hard carrying case"),
            Text("maletín para transportar el equipo", "carrying case for the meter"),
            compat="CL",
            price=55,
        ),
    ),
)

CONSUMABLES = (REA, ELE, BUF, ACC)

GENERIC = {
    "instrument": (
        Text("Pantalla retroiluminada", "Backlit display"),
        Text("Registro de datos con exportación USB", "Data logging with USB export"),
        Text("Carcasa IP67 resistente al agua", "Waterproof IP67 housing"),
        Text("Garantía de 2 años", "2-year warranty"),
        Text("Menú en español e inglés", "Menus in Spanish and English"),
        Text("Apagado automático para ahorrar batería", "Auto power-off"),
    ),
    "industrial": (
        Text("Alimentación 12-36 V DC", "12-36 V DC supply"),
        Text("Montaje en pared o en tubería", "Wall or pipe mounting"),
        Text("Carcasa de aluminio IP66", "IP66 aluminium housing"),
        Text("Certificado de calibración de fábrica", "Factory calibration certificate"),
        Text("Garantía de 3 años", "3-year warranty"),
    ),
    "consumable": (
        Text("Caducidad de 24 meses", "24-month shelf life"),
        Text("Certificado de análisis por lote", "Certificate of analysis per lot"),
        Text("Envío en 48 horas", "Ships in 48 hours"),
        Text("Ficha de datos de seguridad disponible", "Safety data sheet available"),
    ),
}

# --- products -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A catalog row plus the attributes it was written from (for honest labels)."""

    sku: str
    name: str
    category: str
    brand: str
    price: str
    currency: str
    description_html: str
    specs_html: str
    url: str
    family: str
    lang: str
    variant: str  # the instrument variant, or the consumable item
    model: str = ""
    range: Range | None = None
    output: str = ""
    kit: str = ""
    apps: tuple[str, ...] = ()
    features: tuple[tuple[str, str], ...] = ()
    compatible: tuple[str, ...] = ()

    def feature(self, key: str) -> str:
        return dict(self.features).get(key, "")

    def row(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = (
    "sku",
    "name",
    "category",
    "brand",
    "price",
    "currency",
    "description_html",
    "specs_html",
    "url",
)


@dataclass
class _Context:
    rng: random.Random
    numbers: Iterator[int]
    models: set[str] = field(default_factory=set)
    models_by_family: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def sku(self, brand: Brand, code: str) -> str:
        return f"{brand.prefix}-{code}-{next(self.numbers):05d}"

    def model(self, family: Family) -> str:
        while True:
            prefix = self.rng.choice(family.prefixes)
            number = self.rng.randrange(10, 990) * 10
            model = f"{prefix}-{number}"
            if model not in self.models and "100" not in str(number):  # not "PT100"-like
                self.models.add(model)
                return model


def generate(n: int, seed: int = 2026) -> list[Product]:
    """``n`` products, always the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    counts = _counts(n, [*INSTRUMENTS, *CONSUMABLES])
    context = _Context(rng=rng, numbers=iter(rng.sample(range(1, 100_000), n)))
    products: list[Product] = []
    for family in INSTRUMENTS:
        products += _instruments(family, counts[family.code], context)
    for group in CONSUMABLES:
        products += _consumables(group, counts[group.code], context)
    rng.shuffle(products)
    return products


def _counts(n: int, groups: Sequence[Family | Consumables]) -> dict[str, int]:
    total = sum(g.weight for g in groups)
    counts = {g.code: int(n * g.weight / total) for g in groups}
    biggest = max(groups, key=lambda g: g.weight).code
    counts[biggest] += n - sum(counts.values())
    return counts


def _instruments(family: Family, count: int, ctx: _Context) -> list[Product]:
    rng = ctx.rng
    out: list[Product] = []
    while len(out) < count:
        # A series: one model of one brand, sold as several SKUs (ranges, outputs, kits).
        variant = rng.choice(family.variants)
        brand = BRANDS[rng.choice(family.brands)]
        model = ctx.model(family)
        ctx.models_by_family.setdefault(family.code, []).append((model, brand.name))
        noun = variant.noun or rng.choice(family.nouns)
        features = dict(variant.features)
        for feature in family.features:
            features[feature.key] = rng.choice(feature.values)[0]
        apps = tuple(rng.sample(family.apps, rng.choice((1, 2, 2))))
        kits = ("", "cable10") if variant.industrial else ("", "maletin", "certificado")
        seen = set()
        for _ in range(min(rng.choice((1, 2, 2, 3, 3, 4, 5)), count - len(out))):
            combo = (
                rng.choice(variant.ranges) if variant.ranges else None,
                rng.choice(variant.outputs),
                rng.choice(kits) if rng.random() < 0.3 else "",
            )
            if combo in seen:
                continue
            seen.add(combo)
            out.append(_instrument(family, variant, brand, model, noun, features, apps, combo, ctx))
    return out


def _instrument(
    family: Family,
    variant: Variant,
    brand: Brand,
    model: str,
    noun: Text,
    features: dict[str, str],
    apps: tuple[str, ...],
    combo: tuple[Range | None, str, str],
    ctx: _Context,
) -> Product:
    rng = ctx.rng
    lang = brand.lang
    range_, output, kit = combo
    style = rng.randrange(4)
    label = variant.label.get(lang)
    feature_texts = {f.key: dict(f.values)[features[f.key]] for f in family.features}
    noun_text = noun.get(lang)
    if family.code == "CL":  # the chlorine parameter belongs in the name
        noun_text += f" ({feature_texts['cloro'].get(lang)})"
    if lang == "es":
        head = f"{noun_text} {label}".strip()
        name = (f"{head} {model}", f"{noun_text} {model} {label}", f"{model} - {head}")[style % 3]
    else:
        head = f"{label} {noun_text.lower()}".strip()
        name = (f"{head} {model}", f"{model} {head}", f"{brand.name} {model} {head}")[style % 3]
    name = name[0].upper() + name[1:]
    if range_ and (variant.industrial or rng.random() < 0.35):
        name += f" {range_.text(lang, rng.randrange(4))}"
    if kit:
        name += f", {KITS[kit].get(lang)}"

    app_text = _join([APPS[a].get(lang) for a in apps], lang)
    if lang == "es":
        intro = f"{head} para medir {family.measure.es} en {app_text}."
    else:
        intro = f"{head[0].upper()}{head[1:]} to measure {family.measure.en} in {app_text}."
    details = [d.get(lang) for d in rng.sample(family.details, rng.randint(1, len(family.details)))]
    generic = GENERIC["industrial" if variant.industrial else "instrument"]
    bullets = [g.get(lang) for g in rng.sample(generic, rng.randint(1, 3))]

    specs: list[tuple[str, str]] = []
    if range_:
        specs.append((Text("Rango", "Range").get(lang), range_.text(lang, rng.randrange(4))))
    for feature in family.features:
        specs.append((feature.label.get(lang), feature_texts[feature.key].get(lang)))
    if output:
        specs.append((Text("Salida", "Output").get(lang), OUTPUTS[output].get(lang)))
    specs.append(
        (
            Text("Temperatura de trabajo", "Operating temperature").get(lang),
            Range("0", rng.choice(("50", "60")), "°C").text(lang, rng.randrange(4)),
        )
    )
    factor = variant.price_factor * (1.25 if kit else 1.0) * (1.15 if output == "hart" else 1.0)
    return Product(
        sku=ctx.sku(brand, family.code),
        name=name,
        category=family.category.get(lang),
        brand=brand.name,
        price=_price(family.base_price * factor, rng),
        currency="EUR" if rng.random() < 0.1 else "USD",
        description_html=_description_html(name, intro, details, bullets, rng),
        specs_html=_specs_html(specs, lang, rng),
        url=f"https://shop.{brand.name.lower().replace('í', 'i')}.example/p/{model.lower()}",
        family=family.code,
        lang=lang,
        variant=variant.key,
        model=model,
        range=range_,
        output=output,
        kit=kit,
        apps=apps,
        features=tuple(sorted(features.items())),
    )


def _consumables(group: Consumables, count: int, ctx: _Context) -> list[Product]:
    rng = ctx.rng
    out: list[Product] = []
    while len(out) < count:
        item = rng.choice(group.items)
        brand = BRANDS[rng.choice(group.brands)]
        lang = brand.lang
        value_key, value = rng.choice(item.values)
        format_key, fmt = rng.choice(item.formats)
        candidates = ctx.models_by_family.get(item.compat, [])
        same_brand = [m for m, b in candidates if b == brand.name]
        pool = same_brand or [m for m, _ in candidates]
        compatible = tuple(sorted(rng.sample(pool, min(len(pool), rng.randint(1, 3)))))

        name = " ".join(p for p in (item.name.get(lang), value.get(lang)) if p)
        if fmt.get(lang):
            name += f", {fmt.get(lang)}"
        if rng.random() < 0.2:
            name = f"{brand.name} {name}"
        details = [d.get(lang) for d in item.details]
        if compatible:
            models = _join(list(compatible), lang)
            details.append(
                f"Compatible con los equipos {models}."
                if lang == "es"
                else f"Compatible with {models}."
            )
        bullets = [g.get(lang) for g in rng.sample(GENERIC["consumable"], rng.randint(1, 2))]
        specs = [(Text("Presentación", "Pack").get(lang), fmt.get(lang) or "1 ud.")]
        if value.get(lang):
            specs.insert(0, (Text("Valor", "Value").get(lang), value.get(lang)))
        specs.append(
            (Text("Almacenamiento", "Storage").get(lang), rng.choice(("15-25 °C", "2-8 °C")))
        )
        out.append(
            Product(
                sku=ctx.sku(brand, group.code),
                name=name,
                category=group.category.get(lang),
                brand=brand.name,
                price=_price(item.price, rng),
                currency="EUR" if rng.random() < 0.1 else "USD",
                description_html=_description_html(name, "", details, bullets, rng),
                specs_html=_specs_html(specs, lang, rng),
                url="",
                family=group.code,
                lang=lang,
                variant=item.key,
                features=(("format", format_key), ("value", value_key)),
                compatible=compatible,
            )
        )
    return out


# --- rendering --------------------------------------------------------------------------------


def _join(parts: list[str], lang: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {'y' if lang == 'es' else 'and'} {parts[-1]}"


def _price(base: float, rng: random.Random) -> str:
    value = base * rng.lognormvariate(0, 0.25)
    if value > 100:
        return f"{round(value, -1) - 0.1:.2f}" if rng.random() < 0.3 else f"{round(value):.2f}"
    return f"{value:.2f}"


_ENTITIES = {"á": "&aacute;", "é": "&eacute;", "í": "&iacute;", "ó": "&oacute;", "ñ": "&ntilde;"}
_SYMBOLS = {"µ": "&micro;", "°": "&deg;", "±": "&plusmn;"}


def _legacy(html: str, rng: random.Random) -> str:
    """Entities the way old shops wrote them, in some documents."""
    if rng.random() < 0.3:
        for char, entity in _ENTITIES.items():
            html = html.replace(char, entity)
    if rng.random() < 0.5:
        for char, entity in _SYMBOLS.items():
            html = html.replace(char, entity)
    return html


def _description_html(
    name: str, intro: str, details: list[str], bullets: list[str], rng: random.Random
) -> str:
    style = rng.randrange(4)
    sentences = [s for s in (intro, *details) if s]
    if style == 0:
        html = "".join(f"<p>{s}</p>" for s in sentences)
        html += "<ul>" + "".join(f"<li>{b}</li>" for b in bullets) + "</ul>"
    elif style == 1:  # a Word export
        span = '<span style="font-size:10.0pt;font-family:&quot;Arial&quot;">'
        html = "".join(f'<p class="MsoNormal">{span}{s}</span></p>' for s in sentences)
        html += '<p class="MsoNormal">&nbsp;</p>'
        html += "".join(f'<p class="MsoListParagraph">·&nbsp;{b}</p>' for b in bullets)
    elif style == 2:  # an old shop template
        html = f'<div style="font:12px Verdana"><font color="#333"><b>{name}</b></font><br>'
        html += "<br>".join(sentences) + "<br><br>"
        html += "".join(f"- {b}<br>" for b in bullets) + "</div>"
    else:
        html = "<style>.ficha{color:#222}</style><script>var tracking = 1;</script>"
        html += '<div class="ficha"><h3>Descripción</h3>' + " ".join(sentences)
        html += "<ol>" + "".join(f"<li><span>{b}</span></li>" for b in bullets) + "</ol></div>"
    return _legacy(html, rng)


def _specs_html(rows: list[tuple[str, str]], lang: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        cells = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        html = f'<table border="1" cellpadding="2">{cells}</table>'
    elif style == 1:
        head = "<tr><th>Parámetro</th><th>Valor</th></tr>" if lang == "es" else ""
        cells = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
        html = f"<table><thead>{head}</thead><tbody>{cells}</tbody></table>"
    elif style == 2:
        html = "<ul>" + "".join(f"<li><strong>{k}:</strong> {v}</li>" for k, v in rows) + "</ul>"
    else:
        html = "".join(f"{k}: {v}<br>" for k, v in rows)
    return _legacy(html.replace(" NTU", "&nbsp;NTU"), rng)


# --- files ------------------------------------------------------------------------------------


def to_csv(products: Sequence[Product]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for product in products:
        writer.writerow(product.row())
    return buffer.getvalue().encode("utf-8")


def to_json(products: Sequence[Product]) -> bytes:
    return json.dumps([p.row() for p in products], ensure_ascii=False).encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("-o", "--output", type=Path, required=True, help="a .csv or .json file")
    args = parser.parse_args()
    products = generate(args.n, args.seed)
    writer = to_json if args.output.suffix == ".json" else to_csv
    args.output.write_bytes(writer(products))
    print(f"{len(products)} products written to {args.output}")


if __name__ == "__main__":
    main()
