"""The scripted chats behind seed_demo's history: who writes, what, and what comes of it.

Plain data, no database. Texts take ``{name}`` (the contact's first name),
``{company}`` and ``{email}``. Turn kinds: ``user`` (customer), ``bot`` (LLM
reply), ``fallback`` (catalog reply without the LLM), ``rep`` (a sales rep).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUALIFIED = "qualified"
NEEDS_EXPERT = "needs_expert"
CLOSED = "closed"


@dataclass(frozen=True)
class Script:
    key: str
    turns: tuple[tuple[str, str], ...]
    problem: str = ""
    status: str = ""
    picks: tuple[tuple[str, str], ...] = ()
    # "auto": closed once a few days old, active before; or "handed_off" / "active".
    ends: str = "auto"
    attention: str = ""
    intent: str = "sales"
    failed_delivery: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoCompany:
    name: str
    fiscal_id: str
    crm_id: str
    divisions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DemoContact:
    full_name: str
    email: str
    phone: str
    platform: str
    platform_user_id: str
    company: str = ""
    division: str = ""
    crm_id: str = ""


COMPANIES = (
    DemoCompany(
        "Aguas del Valle S.A.",
        "800200300-1",
        "CRM-C-1001",
        (("Lab Aguas", "CRM-D-11"), ("Compras", "CRM-D-12")),
    ),
    DemoCompany(
        "Minera Andina Ltda.",
        "900555111-2",
        "CRM-C-1002",
        (("Laboratorio Químico", "CRM-D-21"), ("Medio Ambiente", "CRM-D-22")),
    ),
    DemoCompany(
        "Acueducto Regional del Norte E.S.P.",
        "890101202-3",
        "CRM-C-1003",
        (("Planta Potabilizadora", "CRM-D-31"), ("Control de Calidad", "CRM-D-32")),
    ),
    DemoCompany(
        "AgroPez del Sur S.A.S.",
        "901333444-5",
        "CRM-C-1004",
        (("Producción Acuícola", "CRM-D-41"),),
    ),
    DemoCompany(
        "Cervecería Altamira S.A.",
        "860777888-9",
        "CRM-C-1005",
        (("Planta de Tratamiento", "CRM-D-51"), ("Aseguramiento de Calidad", "CRM-D-52")),
    ),
    DemoCompany(
        "Ecoanálisis Laboratorio Ambiental Ltda.",
        "830444555-0",
        "CRM-C-1006",
        (("Fisicoquímica", "CRM-D-61"), ("Microbiología", "CRM-D-62")),
    ),
    DemoCompany(
        "Hotel Costa Azul",
        "900987654-1",
        "CRM-C-1007",
        (("Mantenimiento", "CRM-D-71"),),
    ),
    DemoCompany(
        "Northgate Foods Inc.",
        "US-47-1234567",
        "CRM-C-1008",
        (("Utilities", "CRM-D-81"), ("QA Lab", "CRM-D-82")),
    ),
    DemoCompany(
        "Papelera del Cauca S.A.",
        "891300111-4",
        "CRM-C-1009",
        (("Efluentes", "CRM-D-91"),),
    ),
    DemoCompany(
        "BlueRiver Engineering Ltd.",
        "GB-318-5566-77",
        "CRM-C-1010",
        (("Instrumentation", "CRM-D-101"),),
    ),
)

W, T, A, API = "widget", "telegram", "whatsapp", "api"

CONTACTS = (
    DemoContact(
        "Carlos Pérez",
        "carlos.perez@minera-andina.example",
        "+573104445566",
        A,
        "573104445566",
        "Minera Andina Ltda.",
        "Laboratorio Químico",
        "CRM-P-502",
    ),
    DemoContact(
        "Mariana López",
        "mlopez@acueductonorte.example",
        "+573005551201",
        W,
        "visitor-2b91",
        "Acueducto Regional del Norte E.S.P.",
        "Planta Potabilizadora",
        "CRM-P-503",
    ),
    DemoContact(
        "Jorge Ramírez",
        "jramirez@acueductonorte.example",
        "+573005551202",
        T,
        "100200411",
        "Acueducto Regional del Norte E.S.P.",
        "Control de Calidad",
        "CRM-P-504",
    ),
    DemoContact(
        "Sofía Castro",
        "scastro@agropez.example",
        "+573157778899",
        A,
        "573157778899",
        "AgroPez del Sur S.A.S.",
        "Producción Acuícola",
        "CRM-P-505",
    ),
    DemoContact(
        "Andrés Morales",
        "amorales@altamira.example",
        "+573012223344",
        API,
        "CRM-P-506",
        "Cervecería Altamira S.A.",
        "Planta de Tratamiento",
        "CRM-P-506",
    ),
    DemoContact(
        "Valentina Ruiz",
        "vruiz@ecoanalisis.example",
        "+573209990011",
        W,
        "visitor-5c0d",
        "Ecoanálisis Laboratorio Ambiental Ltda.",
        "Fisicoquímica",
        "CRM-P-507",
    ),
    DemoContact(
        "Felipe Herrera",
        "fherrera@costaazul.example",
        "+573118887766",
        A,
        "573118887766",
        "Hotel Costa Azul",
        "Mantenimiento",
        "CRM-P-508",
    ),
    DemoContact(
        "Emily Carter",
        "emily.carter@northgatefoods.example",
        "+14155550142",
        W,
        "visitor-8e44",
        "Northgate Foods Inc.",
        "Utilities",
        "CRM-P-509",
    ),
    DemoContact(
        "Diana Torres",
        "dtorres@papeleracauca.example",
        "+573126660055",
        T,
        "100200522",
        "Papelera del Cauca S.A.",
        "Efluentes",
        "CRM-P-510",
    ),
    DemoContact(
        "James O'Neill",
        "j.oneill@blueriver.example",
        "+442079460123",
        API,
        "CRM-P-511",
        "BlueRiver Engineering Ltd.",
        "Instrumentation",
        "CRM-P-511",
    ),
    DemoContact(
        "Camila Vargas",
        "cvargas@ecoanalisis.example",
        "+573001239876",
        A,
        "573001239876",
        "Ecoanálisis Laboratorio Ambiental Ltda.",
        "Microbiología",
        "CRM-P-512",
    ),
    DemoContact(
        "Ricardo Méndez",
        "rmendez@aguasdelvalle.example",
        "+573014567890",
        W,
        "visitor-a17f",
        "Aguas del Valle S.A.",
        "Compras",
        "CRM-P-513",
    ),
    DemoContact(
        "Paula Jiménez",
        "pjimenez@minera-andina.example",
        "+573168889900",
        T,
        "100200633",
        "Minera Andina Ltda.",
        "Medio Ambiente",
        "CRM-P-514",
    ),
    DemoContact(
        "Tom Becker",
        "tom.becker@northgatefoods.example",
        "+14155550188",
        API,
        "CRM-P-515",
        "Northgate Foods Inc.",
        "QA Lab",
        "CRM-P-515",
    ),
    DemoContact(
        "Luis Fernando Gil",
        "lfgil@altamira.example",
        "+573045556677",
        A,
        "573045556677",
        "Cervecería Altamira S.A.",
        "Aseguramiento de Calidad",
        "CRM-P-516",
    ),
    DemoContact(
        "Natalia Ospina",
        "nospina@agropez.example",
        "+573187654321",
        W,
        "visitor-c3e2",
        "AgroPez del Sur S.A.S.",
        "Producción Acuícola",
        "CRM-P-517",
    ),
    DemoContact(
        "Sebastián Rojas",
        "srojas@acueductonorte.example",
        "+573009871234",
        A,
        "573009871234",
        "Acueducto Regional del Norte E.S.P.",
        "Planta Potabilizadora",
        "CRM-P-518",
    ),
    DemoContact(
        "Grace Liu",
        "grace.liu@blueriver.example",
        "+442079460177",
        W,
        "visitor-d9a0",
        "BlueRiver Engineering Ltd.",
        "Instrumentation",
        "CRM-P-519",
    ),
    DemoContact(
        "Héctor Salazar",
        "hsalazar@papeleracauca.example",
        "+573152223311",
        W,
        "visitor-e6b5",
        "Papelera del Cauca S.A.",
        "Efluentes",
        "CRM-P-520",
    ),
    DemoContact(
        "Isabel Navarro",
        "inavarro@ecoanalisis.example",
        "+573124443322",
        T,
        "100200744",
        "Ecoanálisis Laboratorio Ambiental Ltda.",
        "Fisicoquímica",
        "CRM-P-521",
    ),
    DemoContact("", "", "", W, "visitor-f042"),
    DemoContact("", "", "", W, "visitor-11ab"),
    DemoContact("Miguel Ángel Soto", "", "+573193334455", A, "573193334455"),
    DemoContact("Daniela Prieto", "daniela.prieto@gmail.example", "", T, "100200855"),
)

# Each conversation of the history: (days ago, hour, contact index, script key).
PLAN = (
    (20, 9, 1, "turbidity_network"),
    (20, 15, 20, "greeting_only"),
    (19, 10, 5, "ph_lab"),
    (19, 11, 11, "delivery_times"),
    (18, 8, 3, "dissolved_oxygen"),
    (18, 16, 7, "boiler_conductivity"),
    (17, 9, 22, "fallback_chlorine"),
    (16, 14, 2, "chlorine_network"),
    (15, 10, 9, "tank_level"),
    (15, 17, 21, "greeting_only"),
    (14, 9, 6, "pool_orp"),
    (13, 11, 8, "cod_wastewater"),
    (13, 15, 13, "price_check"),
    (12, 10, 4, "flow_effluent"),
    (12, 12, 0, "warranty_electrode"),
    (11, 9, 10, "colony_counter"),
    (11, 16, 23, "reagent_stock"),
    (10, 10, 12, "multiparameter_river"),
    (9, 8, 17, "fallback_english"),
    (9, 14, 17, "nitrate_uv"),
    (8, 10, 14, "bod_lab"),
    (8, 11, 9, "datasheet_request"),
    (7, 9, 16, "formal_quote"),
    (6, 15, 20, "delivery_times"),
    (6, 10, 18, "pt100_process"),
    (5, 9, 3, "reagent_stock"),
    (5, 13, 16, "failed_delivery"),
    (4, 10, 1, "formal_quote"),
    (4, 16, 21, "greeting_only"),
    (3, 9, 7, "price_check"),
    (3, 11, 22, "fallback_chlorine"),
    (3, 15, 7, "datasheet_request"),
    (2, 10, 19, "warranty_electrode"),
    (2, 14, 23, "greeting_only"),
    (2, 16, 21, "fallback_chlorine"),
    (1, 9, 17, "price_check"),
    (1, 11, 14, "delivery_times"),
    (1, 15, 13, "fallback_english"),
    (0, 9, 2, "reagent_stock"),
    (0, 10, 10, "formal_quote"),
)

SCRIPTS = (
    Script(
        "turbidity_network",
        (
            (
                "user",
                "Buenos días. Soy {name}, de la planta potabilizadora de {company}. "
                "Necesitamos medir turbidez en la red de distribución, entre 0 y 50 NTU.",
            ),
            (
                "bot",
                "Buenos días, {name}. Para mediciones en campo le recomiendo el turbidímetro "
                "portátil TU-5200: rango 0-1000 NTU, resolución 0,01 NTU y método nefelométrico "
                "ISO 7027. ¿Cuántos puntos de muestreo tienen y con qué frecuencia miden?",
            ),
            (
                "user",
                "Son unos 25 puntos, dos veces por semana. También tenemos que verificar la "
                "calibración cada mes.",
            ),
            (
                "bot",
                "Para la verificación le sugiero el estándar de formazina 4000 NTU, con el "
                "que prepara los patrones de 20 y 100 NTU. Dejo registrada la necesidad con ambos "
                "productos y un asesor le enviará la cotización a {email}.",
            ),
            ("user", "Perfecto, gracias."),
        ),
        problem="Turbidez en red de distribución de agua potable, 0-50 NTU, 25 puntos de "
        "muestreo, verificación mensual de calibración.",
        status=QUALIFIED,
        picks=(
            (
                "HL-TUR-5200",
                "Portátil para campo; 0-1000 NTU con resolución 0,01 NTU cubre "
                "0-50 NTU; ISO 7027 como pide la norma de agua potable.",
            ),
            (
                "RE-FOR-4000",
                "Estándar primario para preparar los patrones de verificación "
                "mensual de 20 y 100 NTU.",
            ),
        ),
    ),
    Script(
        "ph_lab",
        (
            (
                "user",
                "Hola, necesito un pHmetro de mesa para el laboratorio fisicoquímico. "
                "Medimos aguas residuales y potables, unas 40 muestras al día.",
            ),
            (
                "bot",
                "Hola {name}. Para ese volumen le recomiendo el medidor de pH de mesa "
                "PH-300: resolución 0,01 pH y compensación automática de temperatura. ¿Tienen ya "
                "soluciones tampón y electrodo de repuesto?",
            ),
            ("user", "No, el electrodo actual está muy lento. Necesitaríamos todo."),
            (
                "bot",
                "Entonces le sugiero el PH-300 con el kit de tampones pH 4, 7 y 10 para la "
                "calibración diaria y un electrodo de gel EL-PH de repuesto, de bajo "
                "mantenimiento. Registro la oportunidad para que un asesor le cotice.",
            ),
        ),
        problem="pHmetro de mesa para laboratorio de aguas, 40 muestras/día, con calibración "
        "diaria y electrodo de repuesto.",
        status=QUALIFIED,
        picks=(
            (
                "HL-PH-300",
                "Equipo de mesa con ATC y resolución 0,01 pH para 40 muestras "
                "diarias de agua potable y residual.",
            ),
            ("RE-BUF-3", "Tampones pH 4, 7 y 10 para la calibración diaria de tres puntos."),
            ("EL-PH-GEL", "Electrodo de gel de repuesto: reemplaza el electrodo lento actual."),
        ),
    ),
    Script(
        "chlorine_network",
        (
            (
                "user",
                "Buenas tardes, ¿qué equipo tienen para medir cloro libre y total en "
                "campo? Es para el control diario de la red.",
            ),
            (
                "bot",
                "Buenas tardes. El colorímetro CL-25 mide cloro libre y total por método "
                "DPD, de 0 a 5 mg/L. Para el uso diario conviene tener los reactivos DPD en "
                "sobres (caja de 100). ¿Cuántas mediciones hacen al día?",
            ),
            ("user", "Unas 15 diarias, en tres rutas."),
            (
                "bot",
                "Con 15 mediciones diarias una caja de 100 sobres le dura cerca de una "
                "semana; le recomiendo un colorímetro por ruta. Registro la necesidad.",
            ),
            ("user", "Listo. Ya lo aprobaron, hagan la orden por favor."),
            (
                "rep",
                "Hola {name}, soy del equipo comercial de Hidrolab. Recibimos la orden de "
                "compra de 3 colorímetros CL-25 y 10 cajas de DPD; despachamos el jueves.",
            ),
        ),
        problem="Cloro libre y total en red de distribución, 15 mediciones diarias en tres rutas.",
        status=CLOSED,
        picks=(
            ("HL-CL-25", "Método DPD 0-5 mg/L para cloro libre y total en campo; uno por ruta."),
            ("RE-DPD-100", "Consumo de ~15 sobres diarios: reposición semanal."),
        ),
    ),
    Script(
        "cod_wastewater",
        (
            (
                "user",
                "Necesitamos montar la medición de DQO en el laboratorio de efluentes. "
                "El rango esperado es 50 a 120 mg/L.",
            ),
            (
                "bot",
                "Para DQO por digestión le recomiendo el termorreactor de 25 viales con los "
                "viales de rango 0-150 mg/L, que cubren 50-120 mg/L. La lectura se hace en un "
                "espectrofotómetro. ¿Ya cuentan con uno?",
            ),
            (
                "user",
                "No tenemos espectrofotómetro. Y la autoridad ambiental nos exige "
                "reportar con método acreditado, necesitamos asesoría.",
            ),
            (
                "bot",
                "Entendido. La acreditación del método requiere la validación con un "
                "especialista; le paso con un asesor técnico que le ayudará con el montaje.",
            ),
            (
                "rep",
                "Hola {name}, soy asesor técnico de Hidrolab. Revisé su caso: le propongo "
                "una visita para definir la validación del método. ¿Le sirve el martes?",
            ),
            ("user", "Sí, el martes a las 10 está bien."),
        ),
        problem="DQO en efluentes industriales, 50-120 mg/L, método acreditado ante la "
        "autoridad ambiental; no tienen espectrofotómetro.",
        status=NEEDS_EXPERT,
        picks=(
            ("TH-DQO-25", "Digestión de 25 viales por lote para la carga del laboratorio."),
            ("VI-DQO-150", "Rango 0-150 mg/L cubre el esperado de 50-120 mg/L."),
            ("SP-UV-2600", "Lectura fotométrica de la DQO y de otros parámetros del efluente."),
        ),
        ends="handed_off",
        attention="handoff requested: validación de método acreditado de DQO",
    ),
    Script(
        "dissolved_oxygen",
        (
            (
                "user",
                "Hola, tenemos estanques de tilapia y necesitamos medir oxígeno disuelto "
                "varias veces al día. ¿Qué recomiendan?",
            ),
            (
                "bot",
                "Hola {name}. El oxímetro OD-10 mide oxígeno disuelto de 0 a 20 mg/L con "
                "compensación de salinidad y temperatura, ideal para acuicultura. ¿También "
                "controlan amonio?",
            ),
            ("user", "Sí, el amonio lo medimos con tiras, pero no son muy confiables."),
            (
                "bot",
                "Le sugiero el kit de amonio 0-3 mg/L, más preciso que las tiras. Registro "
                "ambos para la cotización.",
            ),
        ),
        problem="Oxígeno disuelto y amonio en estanques de tilapia, mediciones varias veces "
        "al día.",
        status=QUALIFIED,
        picks=(
            (
                "AQ-OD-10",
                "0-20 mg/L con compensación de temperatura y salinidad para estanques acuícolas.",
            ),
            ("HL-NH3-KIT", "Amonio 0-3 mg/L, más preciso que las tiras que usan hoy."),
            ("HL-PH-50", "El pH define la fracción tóxica del amonio; tester de campo."),
        ),
    ),
    Script(
        "multiparameter_river",
        (
            (
                "user",
                "Buenos días, en medio ambiente hacemos monitoreo del río aguas abajo de "
                "la mina: pH, conductividad, OD, turbidez y temperatura en 8 estaciones.",
            ),
            (
                "bot",
                "Buenos días, {name}. Para medir esos cinco parámetros a la vez le "
                "recomiendo la sonda multiparamétrica MP-6, con registro de datos y cable de "
                "campo. ¿Necesitan equipos para las 8 estaciones o uno itinerante?",
            ),
            (
                "user",
                "Queremos dos sondas y una cotización formal, es para el plan de manejo ambiental.",
            ),
            (
                "bot",
                "Una cotización de ese valor la prepara un asesor. Le paso con el equipo "
                "comercial.",
            ),
            (
                "rep",
                "Hola {name}, soy del equipo comercial. Le preparo la cotización de dos "
                "MP-6 con cables de 10 m. ¿Me confirma el NIT para facturar?",
            ),
        ),
        problem="Monitoreo de río en 8 estaciones: pH, conductividad, OD, turbidez y "
        "temperatura; dos sondas; cotización formal para el plan de manejo ambiental.",
        status=NEEDS_EXPERT,
        picks=(
            (
                "AQ-MP-6",
                "Mide los cinco parámetros pedidos en una sola sonda con registro de "
                "datos para las 8 estaciones.",
            ),
            ("RE-BUF-3", "Tampones pH 4, 7 y 10 para calibrar las sondas antes de cada campaña."),
            ("HL-TUR-5200", "Verificación en campo de la turbidez que reporta la sonda."),
        ),
        ends="handed_off",
        attention="handoff requested: cotización formal mayor a 10.000 USD",
    ),
    Script(
        "boiler_conductivity",
        (
            (
                "user",
                "Hi, we need to monitor conductivity of our boiler feedwater and "
                "condensate. Range roughly 1 to 500 µS/cm.",
            ),
            (
                "bot",
                "Hello {name}. For the lab I recommend the CD-40 benchtop conductivity "
                "meter, with temperature compensation to 25 °C. Do your operators also need spot "
                "checks at the boiler house?",
            ),
            ("user", "Yes, the shift operators check TDS twice per shift."),
            (
                "bot",
                "Then the pocket TDS-3 meter is a good fit for the spot checks. I have "
                "logged both products; a sales rep will send you a quote.",
            ),
        ),
        problem="Boiler feedwater and condensate conductivity, 1-500 µS/cm, lab and shift "
        "spot checks.",
        status=QUALIFIED,
        picks=(
            ("AQ-CON-40", "Benchtop meter covering 1-500 µS/cm with compensation to 25 °C."),
            ("HL-TDS-3", "Pocket meter for the operators' TDS checks twice per shift."),
            ("HL-PH-300", "Feedwater pH control (8.5-9.5) in the same lab."),
        ),
    ),
    Script(
        "tank_level",
        (
            (
                "user",
                "We are upgrading level measurement on three 12 m water storage tanks. "
                "What would you suggest?",
            ),
            (
                "bot",
                "For 12 m tanks the LV-R80 radar level transmitter measures without "
                "contact, unaffected by foam or condensation. A pressure transmitter such as the "
                "PT-900 is a lower-cost alternative. Do the tanks have an open top?",
            ),
            ("user", "Closed tanks, with some vapour. The integration must be HART."),
            (
                "bot",
                "HART integration and the vapour conditions are best reviewed by an "
                "application engineer; I have passed your request to one.",
            ),
        ),
        problem="Level in three closed 12 m water tanks with vapour; HART integration.",
        status=NEEDS_EXPERT,
        picks=(
            ("IN-LV-R80", "Non-contact radar: vapour and condensation do not affect it."),
            ("IN-PT-900", "Hydrostatic alternative at lower cost if radar is not approved."),
        ),
        ends="handed_off",
        attention="handoff requested: HART integration review",
    ),
    Script(
        "flow_effluent",
        (
            (
                "user",
                "Necesitamos medir el caudal del efluente tratado antes de la descarga, "
                "tubería de 4 pulgadas.",
            ),
            (
                "bot",
                "El caudalímetro electromagnético FM-50 es adecuado para efluentes con "
                "sólidos, sin partes móviles. ¿Cuál es el caudal máximo?",
            ),
            ("user", "Unos 30 m3/h. Ya lo teníamos presupuestado, lo compramos."),
            (
                "rep",
                "Gracias, {name}. Confirmamos la compra del FM-50 DN100; el técnico lo "
                "instalará la próxima semana.",
            ),
        ),
        problem="Caudal de efluente tratado, tubería DN100, hasta 30 m3/h.",
        status=CLOSED,
        picks=(
            (
                "IN-FM-50",
                "Electromagnético sin partes móviles, apto para efluente con sólidos en DN100.",
            ),
        ),
    ),
    Script(
        "bod_lab",
        (
            ("user", "¿Tienen equipos para DBO5? Hacemos unas 20 muestras por semana."),
            (
                "bot",
                "Sí, el sistema BOD-6 mide 6 muestras en paralelo por método manométrico, "
                "sin diluciones. Con 20 muestras semanales le alcanza con uno. ¿Tienen "
                "incubadora a 20 °C?",
            ),
            ("user", "Sí, tenemos incubadora."),
            ("bot", "Perfecto. Registro la oportunidad del BOD-6 para su cotización."),
        ),
        problem="DBO5 en laboratorio ambiental, 20 muestras por semana, con incubadora.",
        status=QUALIFIED,
        picks=(
            ("OP-BOD-6", "6 posiciones manométricas: 20 muestras semanales sin diluciones."),
            ("HL-PH-300", "Ajuste del pH de las muestras a 6,5-7,5 antes de incubar."),
        ),
    ),
    Script(
        "colony_counter",
        (
            ("user", "Buenas, busco un contador de colonias para coliformes en agua."),
            (
                "bot",
                "El contador de colonias COL-10 tiene lupa, iluminación y contador digital, "
                "adecuado para filtración por membrana. ¿Cuántas placas leen al día?",
            ),
            ("user", "Unas 30. Lo compramos con la orden que ya tenemos abierta."),
            ("rep", "Hola {name}, incluimos el COL-10 en la orden abierta. Saludos."),
        ),
        problem="Conteo de coliformes por filtración por membrana, 30 placas por día.",
        status=CLOSED,
        picks=(("HL-COL-10", "Lectura de placas de membrana con iluminación y conteo digital."),),
    ),
    Script(
        "nitrate_uv",
        (
            (
                "user",
                "Hello, we need to measure nitrate in raw and treated water by UV. "
                "Which spectrophotometer do you offer?",
            ),
            (
                "bot",
                "Hello {name}. The SP-2600 UV-Vis spectrophotometer covers 190-1100 nm, "
                "so it runs the UV nitrate screening method at 220/275 nm. How many samples per "
                "day?",
            ),
            ("user", "About 10 per day, plus COD later on."),
            ("bot", "The SP-2600 will handle both. I have logged it for a quote."),
        ),
        problem="Nitrate by UV in raw and treated water, 10 samples/day, COD later.",
        status=QUALIFIED,
        picks=(
            ("SP-UV-2600", "UV range for the 220/275 nm nitrate method and COD readings later."),
            ("TH-DQO-25", "COD digestion for the analysis they plan to add."),
        ),
    ),
    Script(
        "pt100_process",
        (
            (
                "user",
                "Necesito sensores de temperatura para la línea de pulpa, 60 a 95 °C, "
                "con vaina de acero inoxidable.",
            ),
            (
                "bot",
                "El sensor Pt100 TT-100 cubre ese rango. ¿Qué longitud de inserción y "
                "conexión a proceso necesita?",
            ),
            ("user", "No estoy seguro, ¿alguien puede venir a ver la línea?"),
            ("bot", "Claro, le paso con un asesor técnico para coordinar la visita."),
        ),
        problem="Temperatura en línea de pulpa 60-95 °C, vaina inoxidable; requiere visita "
        "para definir inserción.",
        status=NEEDS_EXPERT,
        picks=(("IN-TT-100", "Pt100 para 60-95 °C; la inserción se define en la visita."),),
        attention="handoff requested: visita técnica a la línea de pulpa",
    ),
    Script(
        "pool_orp",
        (
            (
                "user",
                "Hola, en el hotel queremos controlar el agua de las piscinas: cloro, pH y ORP.",
            ),
            (
                "bot",
                "Hola {name}. Para piscinas le recomiendo el medidor de ORP-20 y el tester "
                "de pH PH-50, impermeable. El ORP indica la capacidad desinfectante. ¿Cuántas "
                "piscinas son?",
            ),
            ("user", "Tres piscinas y un jacuzzi."),
            ("bot", "Con un equipo de cada uno le basta. Registro la solicitud."),
        ),
        problem="Control de agua en 3 piscinas y un jacuzzi: pH y ORP.",
        status=QUALIFIED,
        picks=(
            ("HL-ORP-20", "ORP para vigilar la desinfección de las piscinas."),
            ("HL-PH-50", "Tester impermeable de pH, práctico para piscinas."),
            ("RE-BUF-3", "Tampones para la calibración semanal de los medidores."),
        ),
    ),
    Script(
        "warranty_electrode",
        (
            (
                "user",
                "Hola, el electrodo del pHmetro que compramos hace 3 meses ya no "
                "calibra. ¿Eso lo cubre la garantía?",
            ),
            (
                "bot",
                "Lamento el inconveniente. Las garantías las revisa el equipo de soporte; "
                "le paso con un asesor.",
            ),
            (
                "rep",
                "Hola {name}, soy del soporte de Hidrolab. ¿Me envía el número de serie y "
                "una foto del electrodo para abrir el caso?",
            ),
        ),
        intent="support",
        ends="handed_off",
        attention="handoff requested: reclamo de garantía de electrodo",
    ),
    Script(
        "formal_quote",
        (
            (
                "user",
                "Buenas. Necesito cotización formal de 5 medidores de pH PH-300 y 5 "
                "conductímetros CD-40, con envío a Bogotá.",
            ),
            (
                "bot",
                "Con gusto. Las cotizaciones formales las emite un asesor comercial; le "
                "paso su solicitud ahora mismo.",
            ),
            ("rep", "Hola {name}, le envío la cotización a su correo en la próxima hora."),
        ),
        ends="handed_off",
        attention="handoff requested: cotización formal de 10 equipos",
    ),
    Script(
        "fallback_chlorine",
        (
            ("user", "hola necesito algo para medir cloro en agua de la finca"),
            (
                "fallback",
                "Gracias por su mensaje. Estos productos de nuestro catálogo coinciden "
                "con lo que busca:\n- Colorímetro de cloro libre y total CL-25 (SKU HL-CL-25), "
                "410.00 USD\n- Reactivo DPD cloro libre, 100 sobres (SKU RE-DPD-100), precio a "
                "consultar\nUn asesor comercial revisará su consulta y le responderá en breve.",
            ),
        ),
        ends="active",
        attention="fallback answer (LLM failed: timed out after 30 s)",
    ),
    Script(
        "fallback_english",
        (
            ("user", "Do you sell a meter for dissolved oxygen in aquaculture ponds?"),
            (
                "fallback",
                "Thank you for your message. These products from our catalog match "
                "what you are looking for:\n- Oxímetro de oxígeno disuelto OD-10 (SKU AQ-OD-10), "
                "1240.00 USD\n- Sonda multiparamétrica MP-6 (SKU AQ-MP-6), 7900.00 USD\nA sales "
                "representative will review your request and get back to you shortly.",
            ),
        ),
        ends="active",
        attention="fallback answer (LLM failed: 503 Service Unavailable)",
    ),
    Script(
        "greeting_only",
        (
            ("user", "Hola"),
            (
                "bot",
                "¡Hola! Soy Ana, asesora técnica de Hidrolab. ¿Qué parámetro necesita "
                "medir y en qué tipo de agua?",
            ),
        ),
    ),
    Script(
        "delivery_times",
        (
            ("user", "¿Cuánto tardan los envíos a Medellín?"),
            (
                "bot",
                "Los equipos en stock se despachan en 24 horas y llegan a Medellín en 2 a "
                "3 días hábiles. ¿Qué producto le interesa?",
            ),
            ("user", "El turbidímetro portátil."),
            ("bot", "El TU-5200 está en stock, así que llegaría esta misma semana."),
        ),
    ),
    Script(
        "price_check",
        (
            ("user", "What is the price of the PH-300 bench meter?"),
            (
                "bot",
                "The PH-300 bench pH meter lists at 720.00 USD, taxes and shipping not "
                "included. Would you like a formal quote?",
            ),
            ("user", "Not yet, thanks. Just budgeting."),
        ),
    ),
    Script(
        "reagent_stock",
        (
            ("user", "¿Tienen disponibilidad de viales de DQO rango bajo?"),
            (
                "bot",
                "Sí, los viales DQO 0-150 mg/L (caja de 25) están disponibles. ¿Cuántas "
                "cajas necesita?",
            ),
            ("user", "Cuatro cajas, gracias. Las pido por el portal."),
        ),
    ),
    Script(
        "datasheet_request",
        (
            ("user", "Can you send me the datasheet of the MP-6 multiparameter sonde?"),
            (
                "bot",
                "The MP-6 measures pH, conductivity, dissolved oxygen, turbidity and "
                "temperature, with internal logging. I can email the full datasheet: which "
                "address should I use?",
            ),
            ("user", "{email}"),
            ("bot", "Done, you will receive it shortly."),
        ),
    ),
    Script(
        "failed_delivery",
        (
            ("user", "Buenas, ¿me confirma si el conductímetro CD-40 trae celda incluida?"),
            (
                "bot",
                "Sí, el CD-40 incluye celda de conductividad de 2 electrodos y sensor de "
                "temperatura integrado.",
            ),
        ),
        ends="active",
        failed_delivery=True,
        attention="delivery failed: WhatsApp error 131047 (more than 24 hours since the "
        "customer's last message)",
    ),
)

SCRIPTS_BY_KEY = {script.key: script for script in SCRIPTS}

# Northwind Sensors: a little history of its own, so tenant isolation shows on the desk.
NORTHWIND_COMPANIES = (
    DemoCompany(
        "Refinería Costa Norte",
        "900123456-7",
        "NW-C-01",
        (("Instrumentación", "NW-D-01"), ("Seguridad Industrial", "NW-D-02")),
    ),
)
NORTHWIND_CONTACTS = (
    DemoContact(
        "Pedro Ruiz",
        "pruiz@costanorte.example",
        "+573001112233",
        A,
        "573001112233",
        "Refinería Costa Norte",
        "Instrumentación",
        "NW-P-01",
    ),
    DemoContact(
        "Lucía Fernández",
        "lfernandez@costanorte.example",
        "+573002223344",
        W,
        "nw-visitor-01",
        "Refinería Costa Norte",
        "Seguridad Industrial",
        "NW-P-02",
    ),
)
NORTHWIND_PLAN = (
    (12, 10, 0, "nw_pressure"),
    (6, 14, 1, "nw_gas"),
    (2, 9, 0, "nw_followup"),
)
NORTHWIND_SCRIPTS = (
    Script(
        "nw_pressure",
        (
            (
                "user",
                "Necesitamos transmisores de presión para la unidad de crudo, 0-40 bar, "
                "certificación ATEX.",
            ),
            (
                "bot",
                "El transmisor PT-200 de Northwind cubre 0-40 bar y tiene certificación "
                "ATEX zona 1. ¿Cuántos puntos son?",
            ),
            ("user", "Doce puntos."),
            ("bot", "Registro la necesidad de 12 PT-200 para la cotización."),
        ),
        problem="12 transmisores de presión 0-40 bar ATEX para la unidad de crudo.",
        status=QUALIFIED,
        picks=(("NW-PT-200", "0-40 bar con certificación ATEX zona 1."),),
    ),
    Script(
        "nw_gas",
        (
            ("user", "¿Tienen detectores fijos de H2S?"),
            (
                "bot",
                "Sí, el detector GD-10 mide H2S de 0 a 100 ppm con salida 4-20 mA. "
                "Le paso con un especialista para el estudio de ubicación.",
            ),
        ),
        problem="Detección fija de H2S en la unidad de azufre; estudio de ubicación.",
        status=NEEDS_EXPERT,
        picks=(("NW-GD-10", "H2S 0-100 ppm con salida 4-20 mA para el sistema de seguridad."),),
        ends="handed_off",
        attention="handoff requested: estudio de ubicación de detectores",
    ),
    Script(
        "nw_followup",
        (
            ("user", "¿Ya salió la cotización de los PT-200?"),
            ("bot", "Sí, se envió ayer a su correo {email}."),
        ),
    ),
)
NORTHWIND_PRODUCTS = {
    "NW-PT-200": "Transmisor de presión PT-200 ATEX",
    "NW-GD-10": "Detector fijo de H2S GD-10",
}
