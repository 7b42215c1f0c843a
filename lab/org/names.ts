// Name material for the sample organization: deliberately international (accents,
// Polish, Nordic, Japanese in native script) because GAL sync and IMAP logins must
// survive it, plus a very common name to force duplicate display names.

export interface SiteDef {
  /** OU name (may be non-ASCII: `ou=São Paulo`). */
  name: string;
  /** Telephone prefix. */
  phone: string;
}

export const SITES: Record<'a' | 'b', readonly SiteDef[]> = {
  a: [
    { name: 'Atlanta', phone: '+1 404 555' },
    { name: 'Berlin', phone: '+49 30 5550' },
    { name: 'São Paulo', phone: '+55 11 5550' },
    { name: 'Kraków', phone: '+48 12 555' },
  ],
  b: [
    { name: 'Zürich', phone: '+41 44 555' },
    { name: 'Tokyo', phone: '+81 3 5550' },
    { name: 'Atlanta', phone: '+1 770 555' },
    { name: 'Montréal', phone: '+1 514 555' },
  ],
};

export const GIVEN_NAMES = [
  'John', 'Mary', 'José', 'Zoë', 'Łukasz', 'Ana', 'Björn', 'Chloé', 'Søren', 'François', 'Ümit', 'Ingrid',
  'Pedro', 'Ewa', 'Hans', 'Aisha', 'Liam', 'Noah', 'Emma', 'Olivia', 'Mateus', 'Agnieszka', 'Jürgen',
  'Renée', 'Raúl', 'Siobhán', 'Dmitri', 'Priya', 'Wei', 'Fatima', 'Oskar', 'Marta', 'Thomas', 'Sarah',
  'David', 'Laura', 'Michael', 'Julia', 'Carlos', 'Helena', 'Paul', 'Anna', 'Peter', 'Lucía', 'Kenji',
];

export const SURNAMES = [
  'Smith', 'Müller', 'García', 'Kowalski', 'Wiśniewski', 'Nguyễn', "O'Brien", 'Weiß', 'Janssen', 'Çelik',
  'Ødegård', 'Dvořák', 'Schröder', 'Silva', 'Santos', 'Johnson', 'Brown', 'Fischer', 'Meyer', 'Nowak',
  'Lindqvist', 'Andersen', 'Rossi', 'Dubois', 'Martin', 'Patel', 'Kim', 'Becker', 'Souza', 'Lewandowski',
  'Ångström', 'Hoffmann', 'Costa', 'Pereira', 'Taylor', 'Wilson', 'Moreau', 'Zieliński', 'Berg', 'Keller',
];

/** Japanese names in native script with their romanization for ASCII identifiers. */
export const JAPANESE_NAMES: readonly { sn: string; givenName: string; snLatin: string; givenLatin: string }[] = [
  { sn: '山田', givenName: '太郎', snLatin: 'Yamada', givenLatin: 'Taro' },
  { sn: '佐藤', givenName: '花子', snLatin: 'Sato', givenLatin: 'Hanako' },
  { sn: '鈴木', givenName: '一郎', snLatin: 'Suzuki', givenLatin: 'Ichiro' },
  { sn: '高橋', givenName: '美咲', snLatin: 'Takahashi', givenLatin: 'Misaki' },
  { sn: '田中', givenName: '健', snLatin: 'Tanaka', givenLatin: 'Ken' },
];

export const TITLES = [
  'Account Manager', 'Sales Representative', 'Software Engineer', 'Accountant', 'HR Partner',
  'Office Manager', 'Support Engineer', 'Project Manager', 'Buyer', 'Marketing Specialist', 'Legal Counsel',
  'Director', 'Assistant', 'Analyst', 'Mail Administrator',
];
