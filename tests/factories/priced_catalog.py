"""A small priced catalog for the fallback agent's tests: the pH meter that matches a
laboratory need best costs more than 3,000, two others fit within it, one has no price."""

from __future__ import annotations

PRICED = [
    {
        "sku": "PH-PRO-9",
        "name": "Medidor de pH de laboratorio de alta precisión PH-PRO (pH meter, lab)",
        "category": "pH",
        "brand": "Hidrolab",
        "price": "3450.00",
        "currency": "EUR",
        "description_html": "<p>Medidor de pH de laboratorio, pH meter for the lab, "
        "resolución 0,001 pH, electrodo y temperatura. Laboratorio de aguas.</p>",
    },
    {
        "sku": "PH-LAB-3",
        "name": "Medidor de pH de mesa PH-300 (pH meter)",
        "category": "pH",
        "brand": "Hidrolab",
        "price": "1890.00",
        "currency": "EUR",
        "description_html": "<p>Medidor de pH de mesa para laboratorio, pH meter, "
        "compensación de temperatura.</p>",
    },
    {
        "sku": "PH-POCKET-50",
        "name": "Medidor de pH de bolsillo PH-50 (pocket pH meter)",
        "category": "pH",
        "brand": "Hidrolab",
        "price": "95.00",
        "currency": "EUR",
        "description_html": "<p>Medidor de pH de bolsillo, pocket pH meter, para campo y "
        "laboratorio.</p>",
    },
    {
        "sku": "PH-KIT-ON-REQUEST",
        "name": "Kit de medidor de pH a medida (custom pH meter kit)",
        "category": "pH",
        "brand": "Hidrolab",
        "description_html": "<p>Kit de medidor de pH configurado a medida para laboratorio.</p>",
    },
    {
        "sku": "TUR-5200",
        "name": "Turbidímetro portátil TU-5200 (turbidity meter)",
        "category": "Turbidímetros",
        "brand": "Hidrolab",
        "price": "1500.00",
        "currency": "EUR",
        "description_html": "<p>Turbidez del agua potable 0-1000 NTU, turbidity meter.</p>",
    },
    {
        "sku": "PT-900",
        "name": "Pressure transmitter PT-900",
        "category": "Presión",
        "brand": "Indusens",
        "price": "540.00",
        "currency": "EUR",
        "description_html": "<p>Industrial pressure sensor 0-16 bar, 4-20 mA output.</p>",
    },
]
OVER_BUDGET = "PH-PRO-9"  # 3,450 EUR: above a 3,000 budget
