"""A German demo address book for trying out campaigns and for testing recipient filters on.

All data comes from one ``random.Random(seed)`` and a fixed reference date, so a seed yields the
same records on every backend and every day. Records are keyed by their business numbers
(contacts, partners, contracts) and codes (products): a second run inserts only what is missing
and never touches what exists. Contacts are drawn one after another from the same stream, so a
larger ``contacts`` count extends a smaller load instead of contradicting it.

The data is deliberately not clean: a few contacts lack a postcode or street, some e-mail
addresses are malformed and a few people were entered twice, because real address books look
like that and recipient filters must cope with it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.models import (
    Contact,
    ContactKind,
    ContactStatus,
    Contract,
    ContractStatus,
    DispatchChannel,
    Product,
    SalesPartner,
)

REFERENCE_DATE = date(2026, 1, 1)
""""Today" for the demo data: dates never depend on when the data is loaded."""

CONTRACT_YEARS = 8
OLD_TARIFFS_CLOSED = REFERENCE_DATE - timedelta(days=6 * 365)
PARTNER_COUNT = 40
_LOOKUP_CHUNK = 500  # keeps IN (...) lists far below SQLite's bound-parameter limit


def _items(text: str) -> tuple[str, ...]:
    """Comma-separated blocks let entries contain spaces and keep the source lines short."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


FEMALE_FIRST_NAMES = _items("""
Maria, Ursula, Monika, Petra, Elisabeth, Sabine, Renate, Helga, Karin, Brigitte, Ingrid, Erika,
Andrea, Gisela, Claudia, Susanne, Gabriele, Christa, Christine, Hildegard, Anna, Birgit, Barbara,
Stefanie, Julia, Nicole, Martina, Heike, Angelika, Katharina, Ute, Sandra, Marianne, Ingeborg,
Gertrud, Elke, Christina, Anja, Doris, Kerstin, Lisa, Jutta, Edith, Laura, Sarah, Daniela, Silke,
Melanie, Manuela, Tanja, Sophie, Sophia, Marie, Lena, Leonie, Hannah, Emma, Mia, Lea, Lina,
Emilia, Clara, Johanna, Jana, Katrin, Kathrin, Nadine, Simone, Sonja, Bettina, Beate, Cornelia,
Dagmar, Iris, Jessica, Vanessa, Jennifer, Jasmin, Franziska, Carina, Tina, Anke, Antje, Annette,
Bärbel, Dörte, Frauke, Gudrun, Hannelore, Irmgard, Käthe, Lieselotte, Luise, Margarete, Marlies,
Rosemarie, Ruth, Waltraud, Wiebke, Yvonne, Zoe, Charlotte, Amelie, Greta, Paula, Nele, Mila, Ida,
Frieda, Ella, Marlene, Maja, Alina, Melina, Helene, Theresa, Carolin, Miriam, Verena, Svenja,
Janina, Nina, Eva, Veronika, Regina, Heidi, Rita, Gerda, Ilse, Irene, Inge, Marion, Carola,
Jacqueline, Mandy, Peggy, Romy, Anett, Sylvia, Annika, Insa, Maren, Merle, Kirsten, Ines, Sybille,
Hanna, Ann-Kathrin, Anne, Lotte, Jördis, Henriette, Elfriede, Annegret, Constanze, Friederike,
Gesine, Hedwig, Josephine, Judith, Larissa, Lilli, Mathilde, Natalie, Olga, Pia, Rebecca, Ronja,
Sina, Tamara, Ulrike, Viktoria, Anneliese, Heidrun, Sieglinde, Rosalie, Emine, Ayşe, Fatma
""")

MALE_FIRST_NAMES = _items("""
Peter, Michael, Thomas, Andreas, Wolfgang, Klaus, Jürgen, Günter, Stefan, Christian, Uwe, Werner,
Horst, Frank, Dieter, Manfred, Gerhard, Hans, Bernd, Torsten, Matthias, Alexander, Martin, Helmut,
Heinz, Jörg, Sven, Markus, Ralf, Rainer, Karl, Walter, Joachim, Holger, Dirk, Kurt, Sebastian,
Daniel, Tobias, Florian, Jan, Tim, Lukas, Jonas, Leon, Finn, Paul, Ben, Elias, Noah, Luca, Felix,
Maximilian, Moritz, Niklas, Julian, Philipp, Simon, Fabian, David, Dennis, Marcel, Patrick, Kevin,
Marco, Oliver, Carsten, Björn, Kai, Lars, Henrik, Hendrik, Jens, Nils, Ole, Malte, Till, Timo,
Benjamin, Johannes, Jakob, Emil, Anton, Theo, Henry, Oskar, Mats, Erik, Leonard, Konstantin,
Vincent, Dominik, Robert, Norbert, Rolf, Siegfried, Herbert, Friedrich, Fritz, Otto, Wilhelm,
Willi, Erwin, Ernst, Alfred, Heinrich, Hermann, Rudolf, Georg, Josef, Franz, Reinhard, Volker,
Detlef, Lothar, Harald, Hartmut, Bernhard, Axel, Ulrich, Gerd, Achim, Armin, Ingo, Jochen, Olaf,
Thorsten, Steffen, René, Mike, Enrico, Ronny, Maik, Sören, Jörn, Hauke, Arne, Lennart, Jannik,
Luis, Mattis, Karsten, Günther, Klaus-Dieter, Hans-Jürgen, Karl-Heinz, Hans-Peter, Eckhard,
Gunnar, Hubert, Ludwig, Alois, Xaver, Korbinian, Bastian, Christoph, Mario, Sascha, Tom, Mehmet,
Mustafa, Ali, Adrian, Aaron, Jonathan, Leo, Jürgen-Wilhelm, Wilfried, Burkhard, Edgar, Götz
""")

SURNAMES = _items("""
Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Schäfer,
Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, Braun, Krüger,
Hofmann, Hartmann, Lange, Schmitt, Werner, Schmitz, Krause, Meier, Lehmann, Schmid, Schulze,
Maier, Köhler, Herrmann, König, Walter, Mayer, Huber, Kaiser, Fuchs, Peters, Lang, Scholz,
Möller, Weiß, Jung, Hahn, Schubert, Vogel, Friedrich, Keller, Günther, Frank, Berger, Winkler,
Roth, Beck, Lorenz, Baumann, Franke, Albrecht, Schuster, Simon, Ludwig, Böhm, Winter, Kraus,
Martin, Schumacher, Krämer, Vogt, Stein, Jäger, Otto, Sommer, Groß, Seidel, Heinrich, Brandt,
Haas, Schreiber, Graf, Schulte, Dietrich, Ziegler, Kuhn, Kühn, Pohl, Engel, Horn, Busch,
Bergmann, Thomas, Voigt, Sauer, Arnold, Wolff, Pfeiffer, Ernst, Hansen, Jansen, Petersen, Nowak,
Kowalski, Yilmaz, Kaya, Öztürk, Demir, Brinkmann, Thiel, Ebert, Wendt, Kolb, Kurz, Reuter, Heß,
Voß, Gärtner, Bühler, Lührs, Dreßler, Strauß, Großmann, Fröhlich, Jürgens, Nußbaum, Rößler,
Eßer, Förster, Büttner, Kröger, Lindner, Hübner, Wenzel, Ott, Marx, Kuhlmann, Seifert, Haase,
Schüler, Pietsch, Ahrens, Behrens, Frey, Hein, Stolz, Schwab, Wirth, Dörr, Jakobs, Hinz,
Zeller, Riedel, Wegner, Brückner, Sander, Ritter, Mertens, Barth, Langer, Bock, Götz, Rieger
""")

ENGLISH_FEMALE_FIRST_NAMES = _items("Emily, Sarah, Jessica, Olivia, Emma, Sophie, Charlotte, Grace")
ENGLISH_MALE_FIRST_NAMES = _items("James, John, David, Michael, Robert, William, George, Oliver")
ENGLISH_SURNAMES = _items("""
Smith, Johnson, Brown, Taylor, Wilson, Evans, Walker, O'Connor, Murphy, Davies, Clarke, Hughes
""")

STREETS = _items("""
Hauptstraße, Schulstraße, Gartenstraße, Bahnhofstraße, Dorfstraße, Bergstraße, Birkenweg,
Lindenstraße, Kirchstraße, Waldstraße, Ringstraße, Schillerstraße, Goethestraße, Mühlenweg,
Wiesenweg, Am Sportplatz, Friedhofstraße, Feldstraße, Mozartstraße, Rosenstraße, Blumenstraße,
Parkstraße, Lessingstraße, Eichendorffstraße, Ahornweg, Buchenweg, Amselweg, Drosselweg,
Finkenweg, Meisenweg, Lerchenweg, Tannenweg, Beethovenstraße, Friedrichstraße, Wilhelmstraße,
Kastanienallee, Jahnstraße, Industriestraße, Poststraße, Marktplatz, Am Markt, Brunnenstraße,
Talstraße, Sonnenstraße, Kirchweg, Mittelstraße, Uhlandstraße, Hölderlinweg, Mörikestraße,
Fröbelstraße, Königstraße, Luisenstraße, Lange Straße, Breite Straße, Grüner Weg, Triftstraße,
Mühlstraße, Brückenstraße, Am Bahnhof, Fliederweg, Tulpenweg, Nelkenweg, Südstraße, Nordstraße,
Weststraße, Oststraße, Schloßstraße, Schlossallee, Kreuzstraße, Steinweg, Hohe Straße,
Kaiserstraße, Ludwigstraße, Bismarckstraße, Moltkestraße, Humboldtstraße, Rathausstraße,
Am Anger, Lärchenweg, Fichtenweg, Weidenweg, Erlenweg, Holunderweg, Max-Planck-Straße,
Albert-Schweitzer-Straße, Robert-Koch-Straße, Konrad-Adenauer-Straße, Theodor-Heuss-Straße,
Danziger Straße, Königsberger Straße, Breslauer Straße, Stettiner Straße, Gutenbergstraße,
Dürerstraße, Uferstraße, Hafenstraße, Am Mühlbach, Zur Mühle, Auf dem Kamp, Höhenweg,
Grünstraße, Pfarrgasse, Torstraße, Zeppelinstraße, Röntgenstraße, Heinrich-Heine-Straße,
Fährstraße, Hügelstraße, Große Straße, Bäckerstraße, Schäferweg, Jägerstraße, Försterweg,
Rheinstraße, Am Wasserturm, Im Winkel, An der Kirche, Alte Landstraße, Heideweg, Kiefernweg,
Ulmenweg, Eschenweg, Sonnenhang, Burgstraße, Gießereistraße, Bürgermeister-Smidt-Straße,
Sophienstraße, Karlstraße, Augustastraße, Kantstraße, Fontanestraße, Keplerstraße, Weiherstraße
""")

COMPANY_TRADES = _items("""
Haustechnik, Bauunternehmung, Elektrotechnik, Logistik, Immobilien, Steuerberatung, Autohaus,
Gartenbau, Malerbetrieb, Metallbau, Dachdeckerei, IT-Service, Feinkost, Druckerei, Zahntechnik,
Spedition, Getränkehandel, Reisebüro, Sanitär, Tischlerei, Optik, Hörakustik, Fahrzeugbau,
Kältetechnik, Werbeagentur, Gebäudereinigung, Physiotherapie, Bäckerei, Fleischerei, Möbelhaus
""")
COMPANY_PREFIXES = _items("""
Nordlicht, Rheintal, Alpenblick, Hansetor, Elbufer, Spreewerk, Mainufer, Weserstein, Sonnenhof,
Lindenhof, Süderelbe, Schwarzwald, Ostsee, Isartal, Neckarwerk, Brückenkopf
""")

EMAIL_PROVIDERS = _items("""
gmx.de, web.de, t-online.de, gmail.com, outlook.de, yahoo.de, freenet.de, posteo.de, icloud.com,
hotmail.de, gmx.net, mail.de, arcor.de
""")
EMAIL_PROVIDER_WEIGHTS = (22, 20, 14, 18, 6, 4, 3, 2, 3, 3, 2, 1, 2)

MOBILE_PREFIXES = (
    # (prefix, digits after it)
    ("0151", 8), ("0152", 8), ("0157", 8), ("0159", 8), ("0160", 7), ("0162", 7), ("0163", 7),
    ("0170", 7), ("0171", 7), ("0172", 7), ("0173", 7), ("0174", 7), ("0175", 7), ("0176", 8),
    ("0177", 7), ("0178", 7), ("0179", 7),
)  # fmt: skip


class City(NamedTuple):
    name: str
    area_code: str
    postcode_ranges: tuple[tuple[int, int], ...]
    weight: int  # roughly the population in thousands, so big cities hold more contacts


def _cities(text: str) -> tuple[City, ...]:
    """One city a line as ``name|area code|postcode ranges|weight``; postcodes keep leading zeros
    only as text, which is why this is not a tuple literal."""
    cities = []
    for line in text.strip().splitlines():
        name, area_code, ranges, weight = (part.strip() for part in line.split("|"))
        bounds = []
        for span in ranges.split():
            low, _, high = span.partition("-")
            bounds.append((int(low), int(high or low)))
        cities.append(City(name, area_code, tuple(bounds), int(weight)))
    return tuple(cities)


CITIES = _cities("""
Berlin|030|10115-10999 12043-12689 13051-13629 14050-14199|3700
Hamburg|040|20095-21149 22041-22769|1900
München|089|80331-81929|1500
Köln|0221|50667-51149|1080
Frankfurt am Main|069|60306-60599|770
Stuttgart|0711|70173-70629|630
Düsseldorf|0211|40210-40629|620
Leipzig|0341|04103-04357|600
Dortmund|0231|44135-44388|590
Essen|0201|45127-45359|580
Bremen|0421|28195-28779|570
Dresden|0351|01067-01328|560
Hannover|0511|30159-30669|540
Nürnberg|0911|90402-90491|520
Duisburg|0203|47051-47279|500
Bochum|0234|44787-44894|365
Wuppertal|0202|42103-42399|355
Bielefeld|0521|33602-33739|335
Bonn|0228|53111-53229|330
Münster|0251|48143-48167|315
Mannheim|0621|68159-68309|315
Karlsruhe|0721|76131-76229|305
Augsburg|0821|86150-86199|300
Wiesbaden|0611|65183-65207|280
Mönchengladbach|02161|41061-41239|260
Gelsenkirchen|0209|45879-45899|260
Aachen|0241|52062-52080|250
Braunschweig|0531|38100-38126|250
Kiel|0431|24103-24159|245
Chemnitz|0371|09111-09247|245
Halle (Saale)|0345|06108-06132|240
Magdeburg|0391|39104-39130|235
Freiburg im Breisgau|0761|79098-79117|230
Krefeld|02151|47798-47839|225
Mainz|06131|55116-55131|220
Lübeck|0451|23552-23570|215
Erfurt|0361|99084-99099|215
Oberhausen|0208|46045-46149|210
Rostock|0381|18055-18147|210
Kassel|0561|34117-34134|200
Hagen|02331|58089-58135|190
Potsdam|0331|14467-14482|185
Saarbrücken|0681|66111-66133|180
Hamm|02381|59063-59077|180
Ludwigshafen am Rhein|0621|67059-67071|170
Oldenburg|0441|26121-26135|170
Osnabrück|0541|49074-49090|165
Leverkusen|0214|51371-51381|165
Heidelberg|06221|69115-69126|160
Darmstadt|06151|64283-64297|160
Solingen|0212|42651-42719|160
Neuss|02131|41460-41472|155
Regensburg|0941|93047-93059|155
Paderborn|05251|33098-33106|152
Ingolstadt|0841|85049-85057|140
Offenbach am Main|069|63065-63075|131
Fürth|0911|90762-90768|130
Würzburg|0931|97070-97084|128
Ulm|0731|89073-89081|127
Pforzheim|07231|75172-75181|126
Wolfsburg|05361|38440-38448|125
Göttingen|0551|37073-37085|118
Reutlingen|07121|72760-72770|117
Koblenz|0261|56068-56077|114
Erlangen|09131|91052-91058|113
Trier|0651|54290-54296|111
Jena|03641|07743-07751|110
Siegen|0271|57072-57080|102
Hildesheim|05121|31134-31141|101
Gütersloh|05241|33330-33335|101
Cottbus|0355|03042-03055|98
Schwerin|0385|19053-19063|96
Esslingen am Neckar|0711|73728-73734|95
Düren|02421|52349-52355|92
Flensburg|0461|24937-24944|92
Tübingen|07071|72070-72076|91
Gießen|0641|35390-35398|90
Zwickau|0375|08056-08066|87
Villingen-Schwenningen|07721|78048-78056|86
Konstanz|07531|78462-78467|85
Worms|06241|67547-67551|84
Neumünster|04321|24534-24539|80
Bamberg|0951|96047-96052|77
Lüneburg|04131|21335-21339|77
Marburg|06421|35037-35043|77
Bayreuth|0921|95444-95448|74
Landshut|0871|84028-84036|74
Aschaffenburg|06021|63739-63743|71
Kempten (Allgäu)|0831|87435-87439|70
Celle|05141|29221-29229|70
Fulda|0661|36037-36043|69
Weimar|03643|99423-99427|65
Rosenheim|08031|83022-83026|64
Friedrichshafen|07541|88045-88048|61
Stralsund|03831|18435-18439|59
Görlitz|03581|02826-02828|56
Passau|0851|94032-94036|53
Lörrach|07621|79539-79541|49
Memmingen|08331|87700|45
Wismar|03841|23966-23970|43
Garmisch-Partenkirchen|08821|82467|27
Quedlinburg|03946|06484|24
Husum|04841|25813|23
Bad Tölz|08041|83646|19
""")


class _ProductSpec(NamedTuple):
    code: str
    name: str
    category: str
    monthly_price: str
    active: bool
    person_weight: int  # how often people / companies hold it; 0 means never
    company_weight: int


PRODUCTS = (
    _ProductSpec("PHV", "Privathaftpflichtversicherung", "Haftpflicht", "5.90", True, 20, 0),
    _ProductSpec("HRV", "Hausratversicherung", "Sachversicherung", "8.90", True, 18, 0),
    _ProductSpec("KFZ", "Kfz-Versicherung", "Kfz", "48.50", True, 16, 25),
    _ProductSpec("RSV", "Rechtsschutzversicherung", "Rechtsschutz", "24.90", True, 10, 12),
    _ProductSpec("BUV", "Berufsunfähigkeitsversicherung", "Vorsorge", "68.00", True, 8, 0),
    _ProductSpec("RLV", "Risikolebensversicherung", "Vorsorge", "18.50", True, 6, 0),
    _ProductSpec("RIE", "Riester-Rente", "Altersvorsorge", "50.00", True, 6, 0),
    _ProductSpec("BAS", "Basisrente (Rürup)", "Altersvorsorge", "150.00", True, 3, 4),
    _ProductSpec("ZZV", "Zahnzusatzversicherung", "Krankenversicherung", "19.90", True, 8, 0),
    _ProductSpec("UV", "Unfallversicherung", "Vorsorge", "12.40", True, 7, 0),
    _ProductSpec("WGV", "Wohngebäudeversicherung", "Sachversicherung", "32.50", True, 5, 15),
    _ProductSpec("BSP", "Bausparvertrag", "Finanzierung", "40.00", True, 5, 0),
    _ProductSpec("BHV", "Betriebshaftpflichtversicherung", "Gewerbe", "89.00", True, 0, 30),
    _ProductSpec("KLV", "Kapitallebensversicherung", "Altersvorsorge", "75.00", False, 3, 0),
)
"""The catalogue of a typical insurance broker; the inactive old tariff only has old contracts."""

PERSON_TITLE_SHARE = 0.045
COMPANY_SHARE = 0.08
ENGLISH_SHARE = 0.03
DUPLICATE_SHARE = 0.004
MISSING_POSTCODE_SHARE = 0.012
MISSING_STREET_SHARE = 0.005
MALFORMED_EMAIL_SHARE = 0.02
CANCELLED_SHARE = 0.12
CONTRACTS_PER_CUSTOMER = ((1, 58), (2, 27), (3, 10), (4, 4), (5, 1))  # mean 1.63
CUSTOMER_SEGMENTS = (("A", 30), ("B", 45), ("C", 25))
PROSPECT_SEGMENTS = (("A", 5), ("B", 30), ("C", 65))
SOURCES = (
    ("Messe", 12),
    ("Empfehlung", 25),
    ("Website", 20),
    ("Kaltakquise", 8),
    ("Bestandsübernahme", 10),
    ("Import", 15),
    ("Partner", 10),
)


@dataclass(frozen=True)
class DemoSummary:
    """What a load created and what it found already there, per kind of record."""

    contacts_created: int
    contacts_present: int
    partners_created: int
    partners_present: int
    products_created: int
    products_present: int
    contracts_created: int
    contracts_present: int

    @property
    def created(self) -> int:
        return (
            self.contacts_created
            + self.partners_created
            + self.products_created
            + self.contracts_created
        )

    def describe(self) -> str:
        parts = [
            f"{kind}: {getattr(self, kind + '_created')} created, "
            f"{getattr(self, kind + '_present')} already present"
            for kind in ("contacts", "partners", "products", "contracts")
        ]
        return "; ".join(parts)


def load_demo(session: Session, seed: int = 2026, contacts: int = 2000) -> DemoSummary:
    """Insert the demo data set for ``seed`` that is not there yet; the caller commits.

    Existing records are matched by number or code and left exactly as they are, even if they
    came from another seed or were edited since; the demo contracts of a contact that already
    existed are not added.
    """
    if contacts < 0:
        raise ValueError("contacts must not be negative")
    data = _DemoGenerator(random.Random(seed)).generate(contacts)
    session.flush()

    products = _missing(session, Product.code, data.products)
    _insert(session, Product, products)

    partners = _missing(session, SalesPartner.number, data.partners)
    _insert(session, SalesPartner, partners)
    partner_ids = _ids(session, SalesPartner.number, [row["number"] for row in data.partners])

    new_contacts = _missing(session, Contact.number, data.contacts)
    _insert(session, Contact, [_resolve(row, partner_id=partner_ids) for row in new_contacts])

    # Contracts only come with their contact: a contact that was already there, perhaps a
    # real one with the same number, must not suddenly hold demo contracts.
    created = {row["number"] for row in new_contacts}
    new_contracts = [
        row
        for row in _missing(session, Contract.number, data.contracts)
        if row["_contact"] in created
    ]
    contracts_present = len(_ids(session, Contract.number, [r["number"] for r in data.contracts]))
    contact_ids = _ids(session, Contact.number, created)
    product_ids = _ids(session, Product.code, [product.code for product in PRODUCTS])
    _insert(
        session,
        Contract,
        [
            _resolve(row, contact_id=contact_ids, product_id=product_ids, partner_id=partner_ids)
            for row in new_contracts
        ],
    )
    session.flush()
    return DemoSummary(
        contacts_created=len(new_contacts),
        contacts_present=len(data.contacts) - len(new_contacts),
        partners_created=len(partners),
        partners_present=len(data.partners) - len(partners),
        products_created=len(products),
        products_present=len(data.products) - len(products),
        contracts_created=len(new_contracts),
        contracts_present=contracts_present,
    )


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start : start + _LOOKUP_CHUNK]


def _ids(
    session: Session, key: InstrumentedAttribute[str], values: Iterable[str]
) -> dict[str, int]:
    """Map business keys to primary keys, because generated rows refer to each other by key."""
    model = key.class_
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(values))):
        rows = session.execute(select(key, model.id).where(key.in_(chunk)))
        found.update((number, id_) for number, id_ in rows)
    return found


def _missing(
    session: Session, key: InstrumentedAttribute[str], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    present = _ids(session, key, [row[key.key] for row in rows])
    return [row for row in rows if row[key.key] not in present]


def _resolve(row: dict[str, Any], **lookups: dict[str, int]) -> dict[str, Any]:
    """Swap the ``_partner``/``_contact``/``_product`` keys of a generated row for ids."""
    resolved = {name: value for name, value in row.items() if not name.startswith("_")}
    for column, ids in lookups.items():
        reference = row["_" + column.removesuffix("_id")]
        resolved[column] = None if reference is None else ids[reference]
    return resolved


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """``render_nulls`` keeps the batch whole: by default the ORM splits rows by which columns are
    ``None``, which turned one multi-row INSERT into about a thousand small ones."""
    if rows:
        session.execute(insert(model).execution_options(render_nulls=True), rows)


_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ş": "s", "'": ""}
)


_LEGAL_FORM = re.compile(r" (GmbH & Co\. KG|GmbH|AG|KG|OHG|e\.K\.)$")


def _slug(text: str, separator: str = "-") -> str:
    """Names as they appear in e-mail addresses and domains: ``Jürgen`` becomes ``juergen``."""
    ascii_text = text.lower().translate(_TRANSLITERATION)
    return re.sub(r"[^a-z0-9]+", separator, ascii_text).strip(separator)


@dataclass
class _DemoData:
    products: list[dict[str, Any]]
    partners: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    contracts: list[dict[str, Any]]


class _DemoGenerator:
    """Draws every record from one random stream; the order of draws is part of the data set."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.city_weights = _cumulative(city.weight for city in CITIES)
        self.provider_weights = _cumulative(EMAIL_PROVIDER_WEIGHTS)
        self.used_emails: set[str] = set()
        self.people: list[dict[str, Any]] = []
        self.contract_number = 0

    def generate(self, contact_count: int) -> _DemoData:
        products = [
            {
                "code": spec.code,
                "name": spec.name,
                "category": spec.category,
                "monthly_price": Decimal(spec.monthly_price),
                "active": spec.active,
            }
            for spec in PRODUCTS
        ]
        partners = [self.partner(index) for index in range(PARTNER_COUNT)]
        self.partner_numbers = [row["number"] for row in partners]
        self.partner_weights = _cumulative(self.rng.lognormvariate(0, 0.7) for _ in partners)
        self.partners_by_city: dict[str, list[str]] = {}
        for row in partners:
            self.partners_by_city.setdefault(row["city"], []).append(row["number"])
        contacts, contracts = [], []
        for index in range(1, contact_count + 1):
            contact, its_contracts = self.contact(f"K-{index:06d}")
            contacts.append(contact)
            contracts.extend(its_contracts)
        return _DemoData(products, partners, contacts, contracts)

    # -- building blocks -------------------------------------------------------------------

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def city(self) -> City:
        return self.rng.choices(CITIES, cum_weights=self.city_weights)[0]

    def postcode(self, city: City) -> str:
        low, high = self.rng.choices(
            city.postcode_ranges, weights=[high - low + 1 for low, high in city.postcode_ranges]
        )[0]
        return f"{self.rng.randint(low, high):05d}"

    def street(self) -> str:
        number = min(1 + int(self.rng.expovariate(1 / 22)), 199)
        suffix = self.rng.choice("abc") if self.chance(0.06) else ""
        return f"{self.rng.choice(STREETS)} {number}{suffix}"

    def landline(self, city: City) -> str:
        length = 11 - len(city.area_code) - (1 if self.chance(0.3) else 0)
        first = str(self.rng.randint(2, 9))
        rest = "".join(str(self.rng.randint(0, 9)) for _ in range(length - 1))
        return f"{city.area_code} {first}{rest}"

    def mobile(self) -> str:
        prefix, length = self.rng.choice(MOBILE_PREFIXES)
        first = str(self.rng.randint(1, 9))
        rest = "".join(str(self.rng.randint(0, 9)) for _ in range(length - 1))
        return f"{prefix} {first}{rest}"

    def provider(self) -> str:
        return self.rng.choices(EMAIL_PROVIDERS, cum_weights=self.provider_weights)[0]

    def unique_email(self, local: str, domain: str) -> str:
        """People share names, not mailboxes: a taken address gets a number, as providers do."""
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{self.rng.randint(2, 99)}@{domain}"
        self.used_emails.add(email)
        return email

    def person_email(self, first: str, last: str, birth_date: date | None) -> str:
        first_slug, last_slug = _slug(first), _slug(last, "")
        year = f"{birth_date.year % 100:02d}" if birth_date else str(self.rng.randint(1, 99))
        pattern = self.rng.choices(
            (
                f"{first_slug}.{last_slug}",
                f"{first_slug[0]}.{last_slug}",
                f"{first_slug}{last_slug}",
                f"{last_slug}.{first_slug}",
                f"{first_slug}.{last_slug}{year}",
                f"{first_slug}_{last_slug}",
                f"{first_slug[0]}{last_slug}",
            ),
            weights=(30, 15, 10, 8, 15, 7, 15),
        )[0]
        return self.unique_email(pattern, self.provider())

    def malformed(self, email: str) -> str:
        """The typing errors that slip through web forms and imports."""
        local, _, domain = email.partition("@")
        name, _, _tld = domain.rpartition(".")
        return self.rng.choice(
            (
                f"{local}.{domain}",  # no @
                f"{local}@{name}",  # no top-level domain
                f"{local}@@{domain}",
                f"{local.replace('.', ' ', 1) if '.' in local else local + ' '}@{domain}",
                f"{local}@{domain.replace('.', ',')}",
                f"{local}@{domain}.",
            )
        )

    def age(self) -> int:
        return int(self.rng.triangular(18, 93, 48))

    def birth_date(self, age: int) -> date:
        """Born in the year that makes the person ``age`` on the reference date."""
        start = date(REFERENCE_DATE.year - age - 1, 1, 1)
        return start + timedelta(days=self.rng.randrange(365))

    def partner_for(self, city: str) -> str:
        """Brokers mostly look after people in their own town, and a few brokers have most."""
        local = self.partners_by_city.get(city)
        if local and self.chance(0.6):
            return self.rng.choice(local)
        return self.rng.choices(self.partner_numbers, cum_weights=self.partner_weights)[0]

    # -- records ---------------------------------------------------------------------------

    def partner(self, index: int) -> dict[str, Any]:
        rng = self.rng
        female = self.chance(0.35)
        first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
        last = rng.choice(SURNAMES)
        city = self.city()
        company = rng.choice(
            (
                f"Versicherungsbüro {last}",
                f"{last} Finanzberatung GmbH",
                f"{last} & {rng.choice(SURNAMES)} Versicherungsmakler",
                f"Finanzkontor {city.name.split(' (')[0]}",
                f"Agentur {first} {last}",
                None,
            )
        )
        domain = f"{_slug(_LEGAL_FORM.sub('', company or last + ' Finanz'))}.de"
        return {
            "number": f"VP-{1001 + index}",
            "name": f"{first} {last}",
            "company": company,
            "email": self.unique_email(f"{_slug(first)[0]}.{_slug(last, '')}", domain),
            "phone": self.landline(city),
            "street": self.street(),
            "postcode": self.postcode(city),
            "city": city.name,
            "commission_rate": Decimal(rng.randrange(1500, 3501, 50)).scaleb(-2),
            "active": not self.chance(0.06),
        }

    def contact(self, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if len(self.people) > 50 and self.chance(DUPLICATE_SHARE):
            return self.duplicate(number), []
        if self.chance(COMPANY_SHARE):
            row = self.company(number)
        else:
            row = self.person(number)
            self.people.append(row)
        contracts = self.contracts(row) if self.chance(0.55 if row["_company"] else 0.45) else []
        if contracts:
            row["status"] = ContactStatus.CUSTOMER
            row["_partner"] = contracts[0]["_partner"]
        elif self.chance(0.6):
            row["_partner"] = self.partner_for(row["city"])
        self.finish(row, customer=bool(contracts))
        del row["_company"], row["_birth"]
        return row, contracts

    def address(self, row: dict[str, Any]) -> City:
        city = self.city()
        row["street"] = None if self.chance(MISSING_STREET_SHARE) else self.street()
        row["postcode"] = None if self.chance(MISSING_POSTCODE_SHARE) else self.postcode(city)
        row["city"] = city.name
        return city

    def person(self, number: str) -> dict[str, Any]:
        rng = self.rng
        female = self.chance(0.52)
        english = self.chance(ENGLISH_SHARE)
        if english:
            names = ENGLISH_FEMALE_FIRST_NAMES if female else ENGLISH_MALE_FIRST_NAMES
            first, last = rng.choice(names), rng.choice(ENGLISH_SURNAMES)
        else:
            first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
            last = rng.choice(SURNAMES)
            if female and self.chance(0.04):
                last = f"{last}-{rng.choice(SURNAMES)}"
        age = self.age()
        title = None
        if age >= 28 and self.chance(PERSON_TITLE_SHARE):
            title = "Prof. Dr." if age >= 40 and self.chance(0.1) else "Dr."
        birth = self.birth_date(age)
        row = _blank_contact(number, ContactKind.PERSON)
        row.update(
            salutation="Frau" if female else "Herr",
            title=title,
            first_name=first,
            last_name=last,
            language="en" if english else "de",
            birth_date=None if self.chance(0.07) else birth,
            _company=False,
            _birth=birth,
        )
        city = self.address(row)
        if self.chance(0.03):
            row["address_extra"] = rng.choice(
                ("Hinterhaus", "2. OG", "Apartment 12", f"c/o {rng.choice(SURNAMES)}", "Postfach")
            )
        email_share = 0.88 if age < 35 else 0.74 if age < 60 else 0.45
        if self.chance(email_share):
            row["email"] = self.person_email(first, last, birth)
        if self.chance(0.5):
            row["phone"] = self.landline(city)
        if self.chance(0.68 if age < 70 else 0.35):
            row["mobile"] = self.mobile()
        return row

    def company(self, number: str) -> dict[str, Any]:
        rng = self.rng
        owner, partner_name = rng.choice(SURNAMES), rng.choice(SURNAMES)
        trade = rng.choice(COMPANY_TRADES)
        name, form = rng.choices(
            (
                (f"{owner} {trade}", "GmbH"),
                (f"{trade} {owner}", "e.K."),
                (f"{owner} & {partner_name}", "KG"),
                (f"{owner} {trade}", "GmbH & Co. KG"),
                (f"{rng.choice(COMPANY_PREFIXES)} {trade}", "AG"),
                (f"{owner} & {partner_name}", "OHG"),
            ),
            weights=(45, 18, 12, 12, 8, 5),
        )[0]
        row = _blank_contact(number, ContactKind.COMPANY)
        row.update(salutation="Firma", company_name=f"{name} {form}", _company=True, _birth=None)
        city = self.address(row)
        if self.chance(0.4):
            female = self.chance(0.4)
            first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
            addressee = "z. Hd. Frau" if female else "z. Hd. Herrn"
            row["address_extra"] = f"{addressee} {first} {rng.choice(SURNAMES)}"
        elif self.chance(0.15):
            row["address_extra"] = rng.choice(("Buchhaltung", "Geschäftsführung", "Einkauf"))
        if self.chance(0.85):
            local = rng.choice(("info", "info", "kontakt", "buero", "post", "service"))
            row["email"] = self.unique_email(local, f"{_slug(name)}.de")
        if self.chance(0.97):
            row["phone"] = self.landline(city)
        if self.chance(0.3):
            row["mobile"] = self.mobile()
        row["attributes"]["industry"] = trade
        return row

    def duplicate(self, number: str) -> dict[str, Any]:
        """The same person entered twice, as imports do, with the street spelt differently."""
        original = self.rng.choice(self.people)
        row = {key: value for key, value in original.items() if not key.startswith("_")}
        street = original["street"]
        row.update(
            number=number,
            street=street.replace("straße", "str.").replace("Straße", "Str.") if street else None,
            email=original["email"] if self.chance(0.5) else None,
            status=ContactStatus.PROSPECT,
            _partner=None,
            _company=False,
            _birth=None,
        )
        row["attributes"] = {"source": "Import", "newsletter": False, "segment": "C"}
        return row

    def contracts(self, contact: dict[str, Any]) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices(*zip(*CONTRACTS_PER_CUSTOMER, strict=True))[0]
        partner = self.partner_for(contact["city"])
        birth = contact["_birth"]
        earliest = REFERENCE_DATE - timedelta(days=CONTRACT_YEARS * 365)
        if birth is not None:  # nobody signs before coming of age
            earliest = max(earliest, date(birth.year + 18, birth.month, min(birth.day, 28)))
        weights = [
            0
            if not spec.active and earliest >= OLD_TARIFFS_CLOSED
            else spec.company_weight
            if contact["_company"]
            else spec.person_weight
            for spec in PRODUCTS
        ]
        contracts = []
        for _ in range(count):
            spec = rng.choices(PRODUCTS, weights=weights)[0]
            if spec.code != "KFZ":  # a second car is common, a second household is not
                weights[PRODUCTS.index(spec)] = 0
            until = REFERENCE_DATE if spec.active else OLD_TARIFFS_CLOSED
            signed_on = earliest + timedelta(days=rng.randrange((until - earliest).days))
            factor = rng.uniform(0.6, 3.0) if spec.code == "KFZ" else rng.uniform(0.7, 1.8)
            self.contract_number += 1
            contract = {
                "number": f"V-{self.contract_number:07d}",
                "signed_on": signed_on,
                "amount": (Decimal(spec.monthly_price) * Decimal(f"{factor:.3f}")).quantize(
                    Decimal("0.01")
                ),
                "status": ContractStatus.ACTIVE,
                "cancelled_on": None,
                "_contact": contact["number"],
                "_product": spec.code,
                "_partner": partner if self.chance(0.88) else self.partner_for(contact["city"]),
            }
            days_left = (REFERENCE_DATE - signed_on).days
            if days_left > 120 and self.chance(CANCELLED_SHARE):
                contract["status"] = ContractStatus.CANCELLED
                contract["cancelled_on"] = signed_on + timedelta(
                    days=rng.randint(90, days_left - 1)
                )
            contracts.append(contract)
        contracts[0]["_partner"] = partner
        return contracts

    def finish(self, row: dict[str, Any], customer: bool) -> None:
        """Channels, opt-outs and attributes, which depend on what the contact has."""
        rng = self.rng
        email = row["email"]
        if email and self.chance(MALFORMED_EMAIL_SHARE):
            row["email"] = email = self.malformed(email)
        if email and self.chance(0.2):
            row["preferred_channel"] = DispatchChannel.EMAIL
        elif email and self.chance(0.07):
            row["preferred_channel"] = DispatchChannel.WEB
        row["dispatch_block"] = self.chance(0.02)
        row["opt_out_post"] = self.chance(0.015)
        row["opt_out_email"] = bool(email) and self.chance(0.06)
        row["opt_out_sms"] = bool(row["mobile"]) and self.chance(0.05)
        row["opt_out_phone"] = bool(row["phone"] or row["mobile"]) and self.chance(0.08)
        segments = CUSTOMER_SEGMENTS if customer else PROSPECT_SEGMENTS
        row["attributes"].update(
            source=rng.choices(*zip(*SOURCES, strict=True))[0],
            newsletter=bool(email) and not row["opt_out_email"] and self.chance(0.45),
            segment=rng.choices(*zip(*segments, strict=True))[0],
        )


def _blank_contact(number: str, kind: ContactKind) -> dict[str, Any]:
    """Every contact row has every column, so the batched insert runs as one statement."""
    return {
        "number": number,
        "kind": kind,
        "salutation": None,
        "title": None,
        "first_name": None,
        "last_name": None,
        "company_name": None,
        "street": None,
        "address_extra": None,
        "postcode": None,
        "city": None,
        "country": "DE",
        "email": None,
        "phone": None,
        "mobile": None,
        "language": "de",
        "birth_date": None,
        "status": ContactStatus.PROSPECT,
        "preferred_channel": DispatchChannel.POST,
        "dispatch_block": False,
        "opt_out_post": False,
        "opt_out_email": False,
        "opt_out_sms": False,
        "opt_out_phone": False,
        "attributes": {},
        "_partner": None,
    }


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, cumulative = 0.0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return cumulative
