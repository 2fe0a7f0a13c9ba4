"""Is a visitor's message a request for a person? A small multilingual lexicon-and-structure rule.

A message asks for a person when a person is the complement of a contact verb ("talk to a human",
"connect me with an agent", "mit einem Mitarbeiter sprechen", "hablar con un asesor"), the object of a
want verb ("I want a real person", "je veux un conseiller") but not "someone to <do something>" ("can
i get someone to check my engine light" asks for a repair), a question after one ("is there a human
here?"), or when the message is nothing but a person and politeness ("agent", "human please",
"operator!!"). Two kinds of person words: roles that name a human worker (human, agent,
representative, operator, real person) and pronouns (someone, anyone, a person), which are a person
asked for only after a contact verb or at the end of a clause ("I need someone!"): "someone stole my
card", "can anyone help me with my PIN", "the person I sent money to" are questions for the bot.

Contacting the company's service is not asking for a person in this conversation: "how do I contact
customer support", "I want to speak to customer service" are Bitext's in-scope intent
contact_customer_service (the tenant answers with its phone number and hours), so "customer
service/support" is not a person word here. Bitext's intent contact_human_agent ("I want to talk to a
human agent", "need to contact somebody") is exactly a request for a person, so a hand-off there is
right: false positives are measured on in-scope questions of every other intent (and all of
BANKING77), and contact_human_agent is read as recall (bench/_person_requests.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["asks_for_a_person", "only_asks_for_a_person"]


@dataclass(frozen=True)
class _Lexicon:
    """One language: `person` is a role that names a human worker (with its articles and adjectives),
    `pronoun` someone/a person; `structures` are the ways of asking, where `<person>` stands for a role
    and `<anyone>` for a role or a pronoun; `filler` the words that may surround a bare request."""

    person: str
    pronoun: str
    structures: tuple[str, ...]
    filler: str


# The end of a clause: a pronoun ends the request ("I need someone!", "is anyone there?").
_END = r"(?=\s*(?:please|pls|plz|now|asap|right\s+now|here|there|directly)?\s*(?:[.!?,;:]|$))"
# What may follow a role asked for, so that it is the person wanted and not the first word of something
# else ("a human readable receipt", "an agent's phone number", "is there an agent fee") nor someone asked
# to do something other than talk or help ("an agent to check my engine light").
_THEN = (
    r"(?=\s*(?:[.!?,;:)]|$|(?:please|pls|plz|now|asap|right|here|there|instead|rather|not|and|but|because|for|"
    r"about|on|who|that|i|we|available|online|around|to\s+(?:talk|speak|chat|help|assist|call\s+me))\b))"
)

_ENGLISH = _Lexicon(
    person=(
        r"(?:(?:a|an|the|some|any|another|one\s+of\s+your|your|real|live|actual|human|true|proper|living|"
        r"breathing|flesh[\s-]and[\s-]blood|customer\s+(?:service|support|care)|support|service|sales|account|"
        r"tech(?:nical)?|billing|senior|bloody|damn|goddamn|fucking)\s+)*"
        r"(?:hum[ae]ns?(?:\s+beings?)?|hooman|agents?|agnet|representatives?|repr?[ae]s[ae]nt[ai]t?[iy]ve?s?|reps?|"
        r"operat[oe]rs?|staff(?:\s+members?)?|members?\s+of\s+(?:staff|your\s+team|the\s+team)|team\s+members?|"
        r"employees?|advis[eo]rs?|consultants?|managers?|supervisors?|assistants?|specialists?|"
        r"(?:real|live|actual|living|breathing)\s+(?:pers[oa]ns?|people|ones?|someone|somebody))"
    ),
    pronoun=(
        r"(?:some\s*(?:one|body|1)|som[eo]?n[eo]{1,2}|someome|somneone|somenoe|sombody|anyone|anybody|"
        r"(?:a|one)\s+(?:(?:bloody|damn|goddamn|fucking)\s+)?(?:pers[oa]n|peson|eprson)|people)"
    ),
    structures=(
        r"\b(?:tall?k\w*|tlak\w*|tal?king|takling|taok|spea?k\w*|speek\w*|spk|chat\w*|communicate|converse)"
        r"(?:\s+(?:directly|right\s+now|now|please))?\s+(?:to|with|wth|wit)\s+<anyone>",
        r"\b(?:connect|transfer|put|pass|forward|redirect|switch|hand|send|route|patch|escalate)\s+"
        r"(?:me|us|this|it|my\s+(?:case|issue|ticket|problem|chat))\s+(?:(?:over|through|thru|across|back|directly)\s+)?"
        r"(?:to|with|onto)\s+<anyone>",
        r"\b(?:get|put)\s+(?:me\s+)?in\s+(?:touch|contact)\s+with\s+<anyone>",
        r"\b(?:contact(?:ing)?|reach|get\s+hold\s+of|get\s+through\s+to)\s+<person>",
        r"\b(?:contact(?:ing)?|reach)\s+<pronoun>" + _END,
        r"\b(?:help|assistance|support)\s+from\s+<person>",
        r"\b(?:want|wanna|need|get|give|find|bring|request\w*|ask(?:ing)?\s+for|prefer|demand|would\s+like|'d\s+like|"
        r"(?:can|could|may)\s+(?:i|we)\s+have)(?:\s+(?:me|us))?\s+<person>" + _THEN,
        r"\b(?:want|wanna|need|get|give|find|bring|request\w*|ask(?:ing)?\s+for|prefer|demand|would\s+like|'d\s+like)"
        r"(?:\s+(?:me|us))?\s+<pronoun>" + _END,
        r"\bis\s+there\s+<person>" + _THEN,
        r"\b(?:is|are)\s+(?:there\s+)?<anyone>\s+(?:there|here|around|available|online|real|"
        r"(?:i|we)\s+(?:can|could)\s+(?:talk|speak|chat)|to\s+(?:talk|speak|chat))",
        r"\b(?:don'?t|do\s+not|dont)\s+want\s+(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?(?:a|the|this|your|an)?\s*"
        r"(?:ro)?bots?\b",
    ),
    filler=(
        "i im i'm i'd id want wanna would like love to please pls plz can could may might me let you a an the just now "
        "right asap hi hello hey need get talk speak chat with connect transfer so ok okay thanks thank thx yes no is "
        "are there here any real live actual sir madam prefer be not bot robot machine ugh"
    ),
)

_GERMAN = _Lexicon(
    person=(
        r"(?:(?:einen?|einem|einer|den|dem|die|der|ihren?|ihrem|ihrer|echten?|echtem|richtigen?|richtigem|"
        r"menschlichen?|menschlichem|lebendigen?)\s+)*"
        r"(?:menschen?|mitarbeiter(?:in|innen|n)?|(?:kunden|service|kundendienst|support)-?(?:berater|mitarbeiter)(?:in)?|"
        r"berater(?:in)?|ansprechpartner(?:in)?|sachbearbeiter(?:in)?|agent(?:en)?|operator|"
        r"(?:echten?|richtigen?)\s+person)"
    ),
    pronoun=r"(?:jemand(?:en|em)?|(?:einer|eine)\s+person)",
    structures=(
        r"\b(?:sprechen|reden|chatten|telefonieren)\s+mit\s+<anyone>",
        r"\bmit\s+<anyone>(?:\s+[\w-]+){0,3}?\s+(?:sprechen|reden|chatten|telefonieren|verbinden|verbunden|in\s+kontakt)",
        r"\b(?:verbinden|verbinde|verbindet|leiten|leite|stellen|stell)\s+(?:sie\s+)?(?:mich|uns)\s+(?:bitte\s+)?"
        r"(?:(?:weiter|durch)\s+)?(?:mit|an|zu)\s+<anyone>",
        r"\b<anyone>\s+sprechen",
        r"\b(?:will|möchte|moechte|brauche|hätte\s+gerne?|haette\s+gerne?|wünsche|verlange)\s+"
        r"(?:(?:bitte|jetzt|sofort)\s+)?<person>",
        r"\b(?:gibt\s+es|ist\s+(?:da|hier))\s+(?:(?:hier|da|auch)\s+)?<anyone>",
    ),
    filler=(
        "ich möchte moechte will würde wuerde gerne gern bitte hallo hi kann könnte koennte darf mit sprechen reden "
        "jetzt sofort danke mir mich uns sie verbinden einen einem einer ein den dem gibt es ist da hier"
    ),
)

_FRENCH = _Lexicon(
    person=(
        r"(?:(?:un|une|le|la|des|l'|vrai|vraie|véritable|veritable)\s*)*"
        r"(?:être\s+humain|etre\s+humain|humain|conseill(?:er|ère|ere)(?:\s+client(?:èle|ele)?)?|agent|"
        r"opérat(?:eur|rice)|operat(?:eur|rice)|interlocut(?:eur|rice)|employée?|technicien|"
        r"(?:vraie|réelle|reelle)\s+personne|personne\s+(?:réelle|reelle|humaine|physique))"
    ),
    pronoun=r"(?:quelqu'?\s*un|qqn|une\s+personne)",
    structures=(
        r"\b(?:parler|parle|discuter|échanger|echanger|communiquer|chatter)\s+(?:à|a|avec)\s+<anyone>",
        r"\b(?:mett|pass|transf[ée]r|redirig|connect)\w*[\s-](?:moi|nous)\s+(?:en\s+(?:relation|contact|ligne)\s+)?"
        r"(?:(?:avec|à|a|vers)\s+)?<anyone>",
        r"\ben\s+(?:relation|contact)\s+avec\s+<anyone>",
        r"(?:\bje\s+veux|\bje\s+voudrais|\bj'aimerais|\bje\s+souhaite|\bje\s+demande|\bil\s+me\s+faut|"
        r"\bje\s+préfère|\bje\s+prefere|\bdonnez[\s-]moi)\s+<person>",
        r"(?:\by\s+a[\s-]t[\s-]il|\best[\s-]ce\s+qu'il\s+y\s+a|\bil\s+y\s+a|\by'?\s*a)\s+<anyone>"
        r"(?=\s*(?:là|la|ici)?\s*(?:\?|!|$))",
    ),
    filler=(
        "je veux voudrais j'aimerais aimerais souhaite parler à a avec s'il vous plaît plait svp stp merci bonjour "
        "salut un une le la moi me peux puis-je pourrais que mettre en relation est-ce est ce qu'il il y là ici "
        "maintenant tout de suite"
    ),
)

_SPANISH = _Lexicon(
    person=(
        r"(?:(?:un|una|el|la|algún|algun|alguna)\s+)?"
        r"(?:agente|asesor(?:a)?|operador(?:a)?|representante|ejecutiv[oa]|humano|ser\s+humano|empleado|encargado|"
        r"supervisor|persona\s+(?:real|de\s+verdad|humana|física|fisica))(?:\s+(?:real|humano|de\s+verdad))?"
    ),
    pronoun=r"(?:alguien|una\s+persona)",
    structures=(
        r"\b(?:hablar|hablo|habla|hable|chatear|conversar|platicar|comunicarme|comunicarse|contactar(?:me)?)\s+"
        r"(?:con|a)\s+<anyone>",
        r"(?:\bp[áa]same|\bp[áa]senme|\btransfi[ée]reme|\btransfi[ée]ranme|\bcomun[íi]came|\bcomun[íi]quenme|"
        r"\bcon[ée]ctame|\bcon[ée]ctenme|\bponme|\bp[óo]nganme|\bder[íi]vame)\s+(?:(?:con|a|en\s+contacto\s+con)\s+)?"
        r"<anyone>",
        r"\b(?:quiero|necesito|quisiera|prefiero|exijo|me\s+gustar[íi]a|dame|deme|denme|solicito)\s+<person>",
        r"\b(?:hay|est[áa])\s+<anyone>\s*(?:ah[íi]|all[íi]|disponible|real)?\s*\?",
    ),
    filler=(
        "quiero necesito quisiera me gustaría gustaria hablar con por favor hola buenas buenos días dias un una ahora "
        "mismo puedo podría podria gracias hay ahí ahi alguien"
    ),
)

_PORTUGUESE = _Lexicon(
    person=(
        r"(?:(?:um|uma|o|a|algum|alguma)\s+)?"
        r"(?:atendente|agente|operador(?:a)?|representante|consultor(?:a)?|funcion[áa]ri[oa]|humano|ser\s+humano|"
        r"pessoa\s+(?:real|de\s+verdade|humana))(?:\s+(?:real|humano|de\s+verdade))?"
    ),
    pronoun=r"(?:algu[ée]m|uma\s+pessoa)",
    structures=(
        r"\b(?:falar|falo|fale|conversar|converse|chatear|contatar|contactar|comunicar(?:-me)?)\s+com\s+<anyone>",
        r"\b(?:transfir|transfer|pass|conect|coloqu|coloc|encaminh)\w*-me\s+(?:para|com|a)\s+<anyone>",
        r"\bme\s+(?:transfira|transfere|passe|passa|conecte|coloque|encaminhe)\s+(?:para|com|a)\s+<anyone>",
        r"\b(?:quero|queria|preciso\s+de|gostaria\s+de|exijo)\s+<person>",
        r"\b(?:tem|h[áa])\s+<anyone>\s*(?:a[íi]|aqui|dispon[íi]vel)?\s*\?",
    ),
    filler=(
        "quero queria gostaria de preciso falar com por favor olá ola oi bom dia um uma agora posso obrigado tem aí ai"
    ),
)

_ITALIAN = _Lexicon(
    person=(
        r"(?:(?:un|una|un'|l'|lo|il|la|qualche)\s*)?"
        r"(?:operat(?:ore|rice)|consulente|addett[oa]|agente|assistente\s+(?:umano|reale)|essere\s+umano|umano|"
        r"persona\s+(?:reale|vera|umana|in\s+carne\s+e\s+ossa))"
    ),
    pronoun=r"(?:qualcuno|una\s+persona)",
    structures=(
        r"\b(?:parlare|parlo|parli|chattare|comunicare)\s+(?:con|a|ad)\s+<anyone>",
        r"\bcontattare\s+<anyone>",
        r"(?:\bpassami|\bpassatemi|\bmi\s+passi|\bmi\s+passa|\btrasferiscimi|\bcollegami|\bmi\s+colleghi|\bmettimi|"
        r"\bmi\s+metta)\s+(?:(?:in\s+contatto\s+con|con|a)\s+)?<anyone>",
        r"\b(?:voglio|vorrei|ho\s+bisogno\s+di|mi\s+serve|desidero|chiedo)\s+<person>",
        r"\bc'[èe]\s+<anyone>\s*(?:l[ìi]|qui)?\s*\?",
    ),
    filler="voglio vorrei parlare con per favore ciao buongiorno un una ora subito posso grazie c'è c'e lì li qui",
)

_DUTCH = _Lexicon(
    person=(
        r"(?:(?:een|de|het|echte?|menselijke?|levende)\s+)*"
        r"(?:medewerk(?:er|ster)|klantenservicemedewerker|mens|agent|operator|adviseur|vertegenwoordiger|"
        r"(?:echte|levende)\s+persoon)"
    ),
    pronoun=r"(?:iemand|een\s+persoon)",
    structures=(
        r"\b(?:praten|spreken|chatten|bellen|praat|spreek|chat)\s+met\s+<anyone>",
        r"\bmet\s+<anyone>(?:\s+\w+){0,2}?\s+(?:praten|spreken|chatten|bellen|doorverbinden|verbinden)",
        r"\b(?:in\s+contact\s+(?:komen|treden)|contact\s+opnemen)\s+met\s+<anyone>",
        r"\b<anyone>\s+(?:spreken|aan\s+de\s+lijn)",
        r"\b(?:verbind|verbindt|verbinden|zet|stuur)\s+(?:me|mij|ons)\s+(?:door\s+)?(?:met|naar|door\s+naar)\s+<anyone>",
        r"\b(?:ik\s+wil|wil\s+ik|ik\s+zou\s+graag|ik\s+heb|graag)\s+(?:(?:graag|nu|even)\s+)?<person>",
        r"\bis\s+er\s+<anyone>\s*(?:daar|hier|aanwezig|beschikbaar)?\s*\?",
    ),
    filler=(
        "ik wil graag zou kan mag met een praten spreken nu alsjeblieft alstublieft aub hallo hoi dag dank je u is er"
    ),
)

_LANGUAGES = (_ENGLISH, _GERMAN, _FRENCH, _SPANISH, _PORTUGUESE, _ITALIAN, _DUTCH)


def _fill(pattern: str, lexicon: _Lexicon) -> str:
    person, pronoun = rf"(?:{lexicon.person})\b", rf"(?:{lexicon.pronoun})\b"
    anyone = f"(?:{person}|{pronoun})"
    return pattern.replace("<person>", person).replace("<pronoun>", pronoun).replace("<anyone>", anyone)


_REQUEST = re.compile(
    "|".join(f"(?:{_fill(structure, lexicon)})" for lexicon in _LANGUAGES for structure in lexicon.structures),
    re.IGNORECASE,
)
_BARE_PERSON = re.compile(
    "|".join(rf"\b{_fill('<anyone>', lexicon)}" for lexicon in _LANGUAGES), re.IGNORECASE)
_FILLER = frozenset(word for lexicon in _LANGUAGES for word in lexicon.filler.split())
_WORD = re.compile(r"[\w']+")


def _normalized(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


def only_asks_for_a_person(text: str) -> bool:
    """A request for a person and nothing else ("I want to speak to an agent", "human please"): it says who
    should answer, not what the problem is."""
    text = _normalized(text)
    rest = _BARE_PERSON.sub(" ", _REQUEST.sub(" ", text))
    if rest == text:
        return False
    return all(word in _FILLER for word in _WORD.findall(rest.lower()))


def asks_for_a_person(text: str) -> bool:
    """An explicit request for a human, in any of the lexicon's languages ("can I talk to someone about my
    card", "agent please", "ich möchte mit einem Mitarbeiter sprechen"); a hand-off whatever the model says."""
    return bool(_REQUEST.search(_normalized(text))) or only_asks_for_a_person(text)
