"""Vocabulary of the simulated tenant: names, intents, chat texts (Spanish, accents, emoji)."""

from __future__ import annotations

FIRST_NAMES = (
    "María",
    "José",
    "Andrés",
    "Sofía",
    "Camila",
    "Juan",
    "Luis",
    "Ana",
    "Carlos",
    "Valentina",
    "Sebastián",
    "Daniela",
    "Julián",
    "Natalia",
    "Jesús",
    "Lucía",
    "Martín",
    "Ángela",
    "Óscar",
    "Mónica",
    "Nicolás",
    "Paula",
    "Tomás",
    "Verónica",
    "Héctor",
    "Inés",
    "Ramón",
    "Beatriz",
    "Germán",
    "Yolanda",
    "Iván",
    "Leidy",
    "Yeison",
    "Marcela",
    "Raúl",
    "Sandra",
    "Fabián",
    "Rocío",
)
LAST_NAMES = (
    "Gómez",
    "Rodríguez",
    "Martínez",
    "López",
    "García",
    "Hernández",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Díaz",
    "Muñoz",
    "Rojas",
    "Vargas",
    "Jiménez",
    "Castaño",
    "Ortiz",
    "Peña",
    "Núñez",
    "Suárez",
    "Cárdenas",
    "Zuluaga",
    "Montaño",
    "Báez",
    "Londoño",
    "Ospina",
    "Giraldo",
    "Quiñones",
    "Acuña",
)
NAME_EMOJI = ("🌻", "✨", "💙", "🙏", "😊", "🌸", "⚽", "🇨🇴", "🦋", "❤️")

DF_INTENTS: tuple[tuple[str, str], ...] = (
    ("Default Welcome Intent", "Hola"),
    ("[1.1] Mesa Servicios", "Mesa de servicios"),
    ("[1.2] Consulta de saldo", "Consultar saldo"),
    ("[1.3] Extractos", "Extractos"),
    ("[2.1] Bloqueo de tarjeta", "Bloquear tarjeta"),
    ("[2.2] Clave y acceso", "Clave de acceso"),
    ("[3.1] Oficinas y horarios", "Oficinas y horarios"),
    ("[3.2] Créditos", "Créditos"),
    ("[4.1] Hablar con un asesor", "Hablar con un asesor"),
)
FALLBACK_INTENT = "Default Fallback Intent"

GREETINGS = (
    "Hola",
    "Hola, buenas tardes 👋",
    "Buenos días",
    "Buenas noches, necesito ayuda",
    "hola!! 🙏",
    "Buen día, una consulta",
    "Hola, ¿cómo están?",
)
USER_TEXTS = (
    'Necesito ayuda con mi "clave" de la app',
    'No me deja ingresar, dice "usuario bloqueado"',
    "Tengo dos preguntas:\n1. el saldo\n2. el extracto del mes",
    "¿Cuál es el horario de la oficina del centro?",
    "Quiero bloquear mi tarjeta, la perdí 😰",
    "Me cobraron dos veces, ¿por qué?",
    "Gracias, muy amable 😊",
    "Sí, ese es mi número",
    "No, ninguna otra",
    "Ok 👍",
    "Mi cédula es 1.023.456.789",
    "¿Me pueden llamar? Es urgente",
    "Hice una transferencia, pero no aparece, y ya pasaron 2 días",
    "Perfecto, quedo atento",
)
UNKNOWN_TEXTS = (
    "asdf",
    "??",
    "quiero lo del otro día",
    "jajaja",
    "🤔",
    "eso no era lo que pregunté",
)
BOT_TEXTS = (
    "¡Hola! Soy el asistente virtual 🤖. ¿En qué te puedo ayudar hoy?",
    "Con gusto. Para continuar, escribe tu número de documento, sin puntos ni comas.",
    "Tu solicitud fue registrada ✅. Te contactaremos pronto.",
    "Nuestras oficinas atienden de lunes a viernes, de 8:00 a. m. a 5:00 p. m.",
    'Puedes consultar tu saldo en la app, opción "Mis productos".',
    "Para bloquear tu tarjeta, confirma los últimos 4 dígitos, por favor.",
)
BOT_FALLBACK_TEXTS = (
    "Lo siento, no entendí tu mensaje 😅. ¿Puedes escribirlo de otra forma?",
    "Disculpa, aún estoy aprendiendo. Elige una opción del menú, por favor.",
)
OPERATOR_TEXTS = (
    "Hola, mi nombre es {agent}, ¿en qué le puedo colaborar?",
    "Con gusto, ¿me confirma su número de documento?",
    "Un momento, por favor, estoy validando la información ⏳",
    'Listo ✅ su solicitud quedó radicada con el número "SR-{n}".\nCualquier otra inquietud nos escribe.',
    "Entiendo, lamentamos el inconveniente. Ya escalamos el caso al área encargada.",
    "¿Hay algo más, en lo que le pueda ayudar?",
    "Gracias por comunicarse con nosotros, que tenga un excelente día 🌟",
)
NOTES = (
    "Cliente molesto, revisar cobro duplicado",
    'Se validó identidad; caso "SR-{n}" creado',
    "Pendiente llamada de retorno\nTeléfono alterno registrado",
)
NOTIFICATION_TEXTS = (
    "Te estamos comunicando con un asesor, por favor espera un momento ⏳",
    "Conversación transferida a otro asesor",
)
MENU_TITLES = ("Mesa de servicios", "Consultar saldo", "Bloquear tarjeta", "Hablar con un asesor")
NPS_QUESTIONS = (
    ("¿La atención fue rápida?", ("⏱️ Sí ", "🐢 No ")),
    ("¿Resolvimos tu solicitud?", ("✅ Sí", "❌ No", "🤷 En parte")),
    ("Califica la atención de 1 a 5", ("5", "4", "3", "2", "1")),
)
IMAGE_CAPTIONS = ("Comprobante", "Foto del error", "Extracto, página 1", None)

CAMPAIGN_THEMES = (
    "Promo fin de mes",
    "Recordatorio de pago",
    "Bienvenida",
    "Actualiza tus datos",
    "Black Friday 🛍️",
    "Encuesta de satisfacción",
    "Nuevo crédito de libre inversión",
    "Aviso de mantenimiento",
    "Día de la madre 💐",
    "Tasa preferencial",
    "Prima de diciembre",
    "Seguridad: no compartas tu clave",
)
TOPICS = (
    ("Mesa de servicios", "Solicitudes y requerimientos"),
    ("Tarjetas", "Bloqueos, claves y compras"),
    ("Créditos", "Solicitudes y estado de créditos"),
    ("Quejas y reclamos", "PQRS"),
    ("Información general", "Horarios, oficinas y canales"),
)
