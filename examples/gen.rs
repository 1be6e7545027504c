//! Writes realistic native incident records for load and search benchmarks, the same for the same
//! seed: `cargo run --release --example gen -- --count 100000 --seed 7 [--jsonl] > big.json`.
//!
//! Victims are organisation names built from word lists (banks, hospitals, universities, utilities,
//! retailers, cities ...), with a share named like "Summit Bank of Oregon" for fuzzy-search
//! benchmarks; actors are real ATT&CK groups with the aliases ATT&CK lists for them; techniques come
//! from the bundled technique table; descriptions are built from varied sentence templates. A
//! record averages about 1.7 KB.

use std::io::{self, BufWriter, Write};

use clap::Parser;
use incidents::load::{attack, bundled};

#[derive(Debug, Parser)]
#[command(about = "Write generated native incident records to stdout")]
struct Args {
    /// How many records to write.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// The same seed writes the same records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// One record per line instead of a JSON array.
    #[arg(long)]
    jsonl: bool,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match write_records(&mut out, args.count, args.seed, args.jsonl) {
        // `gen | head` closes the pipe early; that is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.and_then(|()| out.flush()),
    }
}

/// Writes `count` records as a JSON array (or JSON Lines), deterministically from `seed`.
pub fn write_records(out: &mut impl Write, count: usize, seed: u64, jsonl: bool) -> io::Result<()> {
    let techniques: Vec<String> = attack::parse_table(bundled::TECHNIQUES.name, bundled::TECHNIQUES.text())
        .map_err(|e| io::Error::other(e.to_string()))?
        .techniques()
        .iter()
        .map(|t| t.id.clone())
        .collect();
    let mut g = Generator {
        rng: SplitMix64(seed),
        techniques,
        record: String::with_capacity(8192),
        recent: Vec::with_capacity(RECENT),
    };
    if !jsonl {
        out.write_all(b"[\n")?;
    }
    for n in 0..count {
        g.record.clear();
        g.write_record(n);
        if jsonl {
            g.record.push('\n');
        } else if n + 1 < count {
            g.record.push_str(",\n");
        } else {
            g.record.push('\n');
        }
        out.write_all(g.record.as_bytes())?;
    }
    if !jsonl {
        out.write_all(b"]\n")?;
    }
    Ok(())
}

/// splitmix64: small, fast and good enough to pick words.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Generator {
    rng: SplitMix64,
    techniques: Vec<String>,
    record: String,
    /// Ids of the last records written, for `related` links to records of the same file.
    recent: Vec<String>,
}

const RECENT: usize = 64;

/// An ATT&CK group as ATT&CK v18 lists it: name, aliases, type and location.
struct Group {
    name: &'static str,
    kind: &'static str,
    location: &'static str,
    aliases: &'static [&'static str],
}

const GROUPS: &[Group] = &[
    Group {
        name: "Lazarus Group",
        kind: "nation-state",
        location: "North Korea",
        aliases: &[
            "Labyrinth Chollima",
            "HIDDEN COBRA",
            "Guardians of Peace",
            "ZINC",
            "NICKEL ACADEMY",
            "Diamond Sleet",
        ],
    },
    Group {
        name: "APT28",
        kind: "nation-state",
        location: "Russia",
        aliases: &[
            "IRON TWILIGHT",
            "SNAKEMACKEREL",
            "Swallowtail",
            "Group 74",
            "Sednit",
            "Sofacy",
            "Pawn Storm",
            "Fancy Bear",
            "STRONTIUM",
            "Tsar Team",
            "Threat Group-4127",
            "TG-4127",
            "Forest Blizzard",
            "GruesomeLarch",
        ],
    },
    Group {
        name: "APT29",
        kind: "nation-state",
        location: "Russia",
        aliases: &[
            "IRON RITUAL",
            "IRON HEMLOCK",
            "NobleBaron",
            "Dark Halo",
            "NOBELIUM",
            "UNC2452",
            "YTTRIUM",
            "The Dukes",
            "Cozy Bear",
            "CozyDuke",
            "SolarStorm",
            "Blue Kitsune",
            "UNC3524",
            "Midnight Blizzard",
        ],
    },
    Group {
        name: "Sandworm Team",
        kind: "nation-state",
        location: "Russia",
        aliases: &[
            "ELECTRUM",
            "Telebots",
            "IRON VIKING",
            "BlackEnergy (Group)",
            "Quedagh",
            "Voodoo Bear",
            "IRIDIUM",
            "Seashell Blizzard",
            "FROZENBARENTS",
            "APT44",
        ],
    },
    Group {
        name: "Turla",
        kind: "nation-state",
        location: "Russia",
        aliases: &["IRON HUNTER", "Group 88", "Waterbug", "WhiteBear", "Krypton", "Venomous Bear", "Secret Blizzard"],
    },
    Group {
        name: "APT41",
        kind: "state-affiliated",
        location: "China",
        aliases: &["Wicked Panda", "Brass Typhoon", "BARIUM"],
    },
    Group {
        name: "APT1",
        kind: "nation-state",
        location: "China",
        aliases: &["Comment Crew", "Comment Group", "Comment Panda"],
    },
    Group {
        name: "APT10",
        kind: "state-affiliated",
        location: "China",
        aliases: &[
            "menuPass",
            "Cicada",
            "HOGFISH",
            "BRONZE RIVERSIDE",
            "Stone Panda",
            "Potassium",
            "Red Apollo",
            "CVNX",
            "POTASSIUM",
        ],
    },
    Group {
        name: "Volt Typhoon",
        kind: "nation-state",
        location: "China",
        aliases: &["BRONZE SILHOUETTE", "Vanguard Panda", "DEV-0391", "UNC3236", "Voltzite", "Insidious Taurus"],
    },
    Group {
        name: "Salt Typhoon",
        kind: "nation-state",
        location: "China",
        aliases: &["GhostEmperor", "FamousSparrow", "Earth Estries", "UNC2286"],
    },
    Group { name: "APT33", kind: "nation-state", location: "Iran", aliases: &["HOLMIUM", "Elfin", "Peach Sandstorm"] },
    Group {
        name: "OilRig",
        kind: "nation-state",
        location: "Iran",
        aliases: &[
            "COBALT GYPSY",
            "IRN2",
            "APT34",
            "Helix Kitten",
            "Evasive Serpens",
            "Hazel Sandstorm",
            "EUROPIUM",
            "ITG13",
            "Earth Simnavaz",
            "Crambus",
            "TA452",
        ],
    },
    Group {
        name: "MuddyWater",
        kind: "nation-state",
        location: "Iran",
        aliases: &["Earth Vetala", "MERCURY", "Static Kitten", "Seedworm", "TEMP.Zagros", "Mango Sandstorm", "TA450"],
    },
    Group {
        name: "Kimsuky",
        kind: "nation-state",
        location: "North Korea",
        aliases: &["Black Banshee", "Velvet Chollima", "Emerald Sleet", "THALLIUM", "APT43", "TA427", "Springtail"],
    },
    Group {
        name: "APT38",
        kind: "nation-state",
        location: "North Korea",
        aliases: &[
            "NICKEL GLADSTONE",
            "BeagleBoyz",
            "Bluenoroff",
            "Stardust Chollima",
            "Sapphire Sleet",
            "COPERNICIUM",
        ],
    },
    Group {
        name: "FIN7",
        kind: "organized-crime",
        location: "Russia",
        aliases: &["GOLD NIAGARA", "ITG14", "Carbon Spider", "ELBRUS", "Sangria Tempest"],
    },
    Group {
        name: "Wizard Spider",
        kind: "organized-crime",
        location: "Russia",
        aliases: &[
            "UNC1878",
            "TEMP.MixMaster",
            "Grim Spider",
            "FIN12",
            "GOLD BLACKBURN",
            "ITG23",
            "Periwinkle Tempest",
            "DEV-0193",
        ],
    },
    Group {
        name: "Scattered Spider",
        kind: "organized-crime",
        location: "United States",
        aliases: &["Roasted 0ktapus", "Octo Tempest", "Storm-0875", "UNC3944"],
    },
    Group {
        name: "LAPSUS$",
        kind: "organized-crime",
        location: "United Kingdom",
        aliases: &["DEV-0537", "Strawberry Tempest"],
    },
    Group {
        name: "Indrik Spider",
        kind: "organized-crime",
        location: "Russia",
        aliases: &["Evil Corp", "Manatee Tempest", "DEV-0243", "UNC2165"],
    },
    Group {
        name: "Ember Bear",
        kind: "nation-state",
        location: "Russia",
        aliases: &["UNC2589", "Bleeding Bear", "DEV-0586", "Cadet Blizzard", "Frozenvista", "UAC-0056"],
    },
    Group {
        name: "Gamaredon Group",
        kind: "nation-state",
        location: "Russia",
        aliases: &["IRON TILDEN", "Primitive Bear", "ACTINIUM", "Armageddon", "Shuckworm", "DEV-0157", "Aqua Blizzard"],
    },
    Group {
        name: "Mustang Panda",
        kind: "state-affiliated",
        location: "China",
        aliases: &["TA416", "RedDelta", "BRONZE PRESIDENT"],
    },
    Group { name: "Silence", kind: "organized-crime", location: "Russia", aliases: &["Whisper Spider"] },
    Group {
        name: "TA505",
        kind: "organized-crime",
        location: "Russia",
        aliases: &["Hive0065", "Spandex Tempest", "CHIMBORAZO"],
    },
    Group {
        name: "Andariel",
        kind: "nation-state",
        location: "North Korea",
        aliases: &["Silent Chollima", "PLUTONIUM", "Onyx Sleet"],
    },
    Group {
        name: "HAFNIUM",
        kind: "nation-state",
        location: "China",
        aliases: &["Operation Exchange Marauder", "Silk Typhoon"],
    },
    Group {
        name: "Leviathan",
        kind: "nation-state",
        location: "China",
        aliases: &[
            "MUDCARP",
            "Kryptonite Panda",
            "Gadolinium",
            "BRONZE MOHAWK",
            "TEMP.Jumper",
            "APT40",
            "TEMP.Periscope",
            "Gingham Typhoon",
        ],
    },
    Group { name: "Equation", kind: "nation-state", location: "United States", aliases: &[] },
    Group {
        name: "Dragonfly",
        kind: "nation-state",
        location: "Russia",
        aliases: &[
            "TEMP.Isotope",
            "DYMALLOY",
            "Berserk Bear",
            "TG-4192",
            "Crouching Yeti",
            "IRON LIBERTY",
            "Energetic Bear",
            "Ghost Blizzard",
            "BROMINE",
        ],
    },
];

const PLACE_WORDS: &[&str] = &[
    "Summit",
    "Riverside",
    "Lakeshore",
    "Northern",
    "Pacific",
    "Atlantic",
    "Granite",
    "Evergreen",
    "Prairie",
    "Harbor",
    "Cedar",
    "Silver Lake",
    "Blue Ridge",
    "Frontier",
    "Heritage",
    "Keystone",
    "Liberty",
    "Meridian",
    "Pinnacle",
    "Redwood",
    "Sierra",
    "Sterling",
    "Valley",
    "Westfield",
    "Zürich",
    "São Paulo",
    "Nordic",
    "Baltic",
    "Alpine",
    "Coastal",
    "Capital",
    "Metro",
    "Union",
    "Pioneer",
    "Oakwood",
    "Highland",
    "Crescent",
    "Golden Gate",
    "Midland",
    "Bayview",
    "Ironbridge",
    "Kingsway",
    "Maplewood",
    "Stonegate",
    "Three Rivers",
    "Twin Cities",
    "Whitestone",
];

const REGIONS: &[&str] = &[
    "Oregon",
    "Texas",
    "Ohio",
    "Bavaria",
    "Ontario",
    "Queensland",
    "Lombardy",
    "Catalonia",
    "Flanders",
    "Wales",
    "Scotland",
    "Maine",
    "Nevada",
    "Georgia",
    "Victoria",
    "Saxony",
    "Normandy",
    "Hokkaido",
    "Gauteng",
    "Jutland",
];

const BANK_KINDS: &[&str] = &["Bank", "Savings Bank", "Credit Union", "Trust", "Bancorp", "Federal Credit Union"];
const HEALTH_KINDS: &[&str] =
    &["Hospital", "Medical Center", "Health System", "Regional Hospital", "Children's Hospital", "Clinic"];
const SCHOOL_KINDS: &[&str] =
    &["University", "State University", "College", "Community College", "Institute of Technology"];
const UTILITY_KINDS: &[&str] =
    &["Power", "Energy", "Water Authority", "Electric Cooperative", "Gas & Electric", "Utilities"];
const SHOP_KINDS: &[&str] =
    &["Markets", "Outfitters", "Home Goods", "Pharmacy", "Grocers", "Department Stores", "Supply Co."];
const FIRM_KINDS: &[&str] = &[
    "Logistics",
    "Shipping",
    "Insurance",
    "Software",
    "Telecom",
    "Aerospace",
    "Chemicals",
    "Steel",
    "Foods",
    "Motors",
    "Capital Partners",
    "Law Group",
    "Engineering",
    "Pharmaceuticals",
    "Semiconductors",
    "Airlines",
];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Fairview",
    "Georgetown",
    "Salem",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Madison",
    "Arlington",
    "Ashland",
    "Dover",
    "Kingston",
    "Oxford",
    "Lyon",
    "Tartu",
    "Gdańsk",
    "Malmö",
    "Reykjavík",
];

const COUNTRIES: &[&str] = &[
    "United States",
    "United Kingdom",
    "Germany",
    "France",
    "Canada",
    "Australia",
    "Japan",
    "South Korea",
    "India",
    "Brazil",
    "Netherlands",
    "Estonia",
    "Ukraine",
    "Israel",
    "Singapore",
    "Italy",
    "Spain",
    "Sweden",
    "Norway",
    "Poland",
    "Taiwan",
    "Saudi Arabia",
    "United Arab Emirates",
    "South Africa",
    "Mexico",
    "Switzerland",
    "Türkiye",
];

const MOTIVES: &[&str] =
    &["financial", "espionage", "ideology", "grudge", "fun", "convenience", "fear", "secondary", "other", "unknown"];
const IMPACTS: &[&str] = &["affected", "not-affected", "unknown"];

const PUBLISHERS: &[(&str, &str)] = &[
    ("Reuters", "https://www.reuters.com/technology/cybersecurity/"),
    ("BleepingComputer", "https://www.bleepingcomputer.com/news/security/"),
    ("The Record", "https://therecord.media/"),
    ("SecurityWeek", "https://www.securityweek.com/"),
    ("Krebs on Security", "https://krebsonsecurity.com/"),
    ("CISA", "https://www.cisa.gov/news-events/cybersecurity-advisories/"),
    ("Mandiant", "https://cloud.google.com/blog/topics/threat-intelligence/"),
    ("Microsoft Threat Intelligence", "https://www.microsoft.com/en-us/security/blog/"),
    ("Ars Technica", "https://arstechnica.com/security/"),
    ("Wired", "https://www.wired.com/story/"),
    ("SC Media", "https://www.scworld.com/news/"),
    ("Dark Reading", "https://www.darkreading.com/"),
];

const TAGS: &[&str] = &[
    "ransomware",
    "data-breach",
    "phishing",
    "supply-chain",
    "wiper",
    "cryptocurrency",
    "ddos",
    "extortion",
    "zero-day",
    "insider",
    "credential-theft",
    "espionage",
    "ics",
    "healthcare",
    "election",
    "cloud",
];

const OPERATION_WORDS: &[&str] = &[
    "Aurora",
    "Night Dragon",
    "Shady RAT",
    "Ghost",
    "Cloud Hopper",
    "Dream Job",
    "Sharpshooter",
    "Wocao",
    "Honeybee",
    "Silent Lantern",
    "Red Ledger",
    "Glass Harbor",
    "Copper Fox",
    "Quiet Meadow",
    "Iron Gate",
    "Paper Crane",
];

const OPENINGS: &[&str] = &[
    "{victim} disclosed that attackers had gained access to parts of its network",
    "In a statement to customers, {victim} said an intruder had been inside its systems for several weeks",
    "Investigators hired by {victim} found that the breach began with a compromised employee account",
    "{victim} first noticed unusual activity on a file server used by its {industry} operations",
    "Regulators in {country} were notified after {victim} confirmed unauthorised access to internal systems",
    "Security researchers reported that {victim} had been targeted in a campaign against the {industry} sector",
];

const MIDDLES: &[&str] = &[
    "The attackers moved laterally using stolen administrator credentials and remote management tools.",
    "A phishing message carrying a malicious attachment is believed to have delivered the first payload.",
    "Logs showed that data was staged in compressed archives before being sent to cloud storage.",
    "The intruders exploited an unpatched vulnerability in an internet-facing appliance to get in.",
    "Backups were deleted and shadow copies removed before file encryption started across the domain.",
    "Forensic analysis found a web shell on a public server that had gone unnoticed for months.",
    "Several service accounts had been given broad privileges that the attackers were quick to abuse.",
    "The malware used scheduled tasks and registry run keys to survive reboots.",
    "Outbound traffic to an unfamiliar hosting provider was the first sign that something was wrong.",
    "Email accounts of senior staff were accessed and used to send convincing messages to partners.",
    "The company took affected systems offline and switched to manual processes while it investigated.",
    "Customer records, including names, addresses and partial payment details, were exposed.",
    "A ransom note demanded payment in cryptocurrency and threatened to publish stolen files.",
    "Attackers signed their tools with a stolen code-signing certificate to avoid detection.",
    "The incident response team rotated credentials and rebuilt domain controllers from clean media.",
    "Network segmentation limited the spread, but shared file stores were still reached.",
    "Multi-factor prompts were sent repeatedly until an employee approved one.",
    "A third-party software update had been tampered with before it reached the victim.",
];

const ATTRIBUTIONS: &[&str] = &[
    "Researchers linked the activity to {actor} based on infrastructure and tooling overlaps.",
    "Government agencies later attributed the operation to {actor}.",
    "The victim's incident responders said the techniques matched those previously reported for {actor}.",
    "Several security firms tracked the intrusion as the work of {actor}, also known as {alias}.",
];

const CLOSINGS: &[&str] = &[
    "{victim} said it had notified affected customers and was working with law enforcement.",
    "The full cost of the incident was not disclosed, but recovery took several weeks.",
    "The company said it had strengthened monitoring and access controls since the attack.",
    "No further misuse of the stolen data has been publicly reported.",
    "Class-action lawsuits were filed in the months after the disclosure.",
    "Services were restored gradually, with some systems remaining offline for a month.",
];

impl Generator {
    fn victim(&mut self) -> (String, &'static str) {
        let r = &mut self.rng;
        // About one victim in 200 is a "Summit ... Bank", so "summit bank" has realistic hits.
        if r.below(200) == 0 {
            let name = match r.below(4) {
                0 => format!("Summit Bank of {}", r.pick(REGIONS)),
                1 => "First Summit Bank".to_string(),
                2 => format!("Summit {} Bank", r.pick(CITIES)),
                _ => format!("Summit State Bank of {}", r.pick(REGIONS)),
            };
            return (name, "Banking");
        }
        let place = *r.pick(PLACE_WORDS);
        match r.below(7) {
            0 => {
                let kind = r.pick(BANK_KINDS);
                let name = if r.chance(30) {
                    format!("First {place} {kind}")
                } else if r.chance(30) {
                    format!("{place} {kind} of {}", r.pick(REGIONS))
                } else {
                    format!("{place} {kind}")
                };
                (name, "Banking")
            }
            1 => (format!("{place} {}", r.pick(HEALTH_KINDS)), "Healthcare"),
            2 => {
                let name = if r.chance(50) {
                    format!("University of {}", r.pick(REGIONS))
                } else {
                    format!("{place} {}", r.pick(SCHOOL_KINDS))
                };
                (name, "Education")
            }
            3 => (format!("{place} {}", r.pick(UTILITY_KINDS)), "Energy and utilities"),
            4 => (format!("{place} {}", r.pick(SHOP_KINDS)), "Retail"),
            5 => (format!("City of {}", r.pick(CITIES)), "Local government"),
            _ => {
                let kind = *r.pick(FIRM_KINDS);
                let industry = match kind {
                    "Logistics" | "Shipping" | "Airlines" => "Transportation",
                    "Insurance" | "Capital Partners" => "Financial services",
                    "Software" | "Telecom" | "Semiconductors" => "Technology",
                    "Pharmaceuticals" => "Pharmaceuticals",
                    "Law Group" => "Legal services",
                    _ => "Manufacturing",
                };
                let suffix = *r.pick(&["", " Inc.", " Ltd", " GmbH", " AG", " plc", " Group"]);
                (format!("{place} {kind}{suffix}"), industry)
            }
        }
    }

    fn write_record(&mut self, n: usize) {
        let (victim, industry) = self.victim();
        let country = *self.rng.pick(COUNTRIES);
        let year = self.rng.range(2005, 2025);
        let month = self.rng.range(1, 12);
        let day = self.rng.range(1, 28);
        let date = match self.rng.below(10) {
            0 => format!("{year}"),
            1..=3 => format!("{year}-{month:02}"),
            _ => format!("{year}-{month:02}-{day:02}"),
        };
        let id = format!("{}-{year}-{n}", slug(&victim));
        let groups: Vec<&Group> = (0..self.rng.range(1, 3)).map(|_| self.rng.pick(GROUPS)).collect();
        let motive = match groups[0].kind {
            "organized-crime" => "financial",
            _ if self.rng.chance(70) => "espionage",
            _ => *self.rng.pick(MOTIVES),
        };

        let r = &mut self.record;
        r.push_str("{\"id\": ");
        push_json_str(r, &id);
        r.push_str(", \"victim\": ");
        push_json_str(r, &victim);
        if self.rng.chance(15) {
            let name = format!("Operation {}", self.rng.pick(OPERATION_WORDS));
            r.push_str(", \"name\": ");
            push_json_str(r, &name);
        }
        r.push_str(", \"date\": ");
        push_json_str(r, &date);
        r.push_str(", \"location\": ");
        push_json_str(r, country);
        r.push_str(", \"industry\": ");
        push_json_str(r, industry);
        let summary = format!(
            "{victim} suffered a cyber attack in {year} that investigators attributed to {}. The incident affected operations in {country} and was reported publicly.",
            groups[0].name
        );
        r.push_str(", \"summary\": ");
        push_json_str(r, &summary);

        let description = self.description(&victim, industry, country, &groups);
        let r = &mut self.record;
        r.push_str(", \"description\": ");
        push_json_str(r, &description);
        if self.rng.chance(40) {
            let loss = (self.rng.range(1, 9999) as u64) * 10u64.pow(self.rng.range(3, 6) as u32);
            r.push_str(&format!(", \"loss_usd\": {loss}"));
        }
        let c = *self.rng.pick(IMPACTS);
        let i = *self.rng.pick(IMPACTS);
        let a = *self.rng.pick(IMPACTS);
        r.push_str(&format!(
            ", \"cia\": {{\"confidentiality\": \"{c}\", \"integrity\": \"{i}\", \"availability\": \"{a}\"}}"
        ));
        r.push_str(&format!(", \"motives\": [\"{motive}\""));
        if self.rng.chance(20) {
            let other = *self.rng.pick(MOTIVES);
            if other != motive {
                r.push_str(&format!(", \"{other}\""));
            }
        }
        r.push(']');

        r.push_str(", \"ttps\": [");
        for k in 0..self.rng.range(1, 6) {
            if k > 0 {
                r.push_str(", ");
            }
            let t = &self.techniques[self.rng.below(self.techniques.len())];
            if self.rng.chance(25) {
                r.push_str(&format!("{{\"id\": \"{t}\", \"note\": \"Seen during the intrusion.\"}}"));
            } else {
                r.push_str(&format!("\"{t}\""));
            }
        }
        r.push(']');

        r.push_str(", \"actors\": [");
        for (k, g) in groups.iter().enumerate() {
            if k > 0 {
                r.push_str(", ");
            }
            r.push_str("{\"name\": ");
            push_json_str(r, g.name);
            r.push_str(", \"type\": ");
            push_json_str(r, g.kind);
            r.push_str(", \"location\": ");
            push_json_str(r, g.location);
            if !g.aliases.is_empty() {
                r.push_str(", \"aliases\": [");
                // The first few aliases, as datasets usually carry them.
                for (j, alias) in g.aliases.iter().take(4).enumerate() {
                    if j > 0 {
                        r.push_str(", ");
                    }
                    push_json_str(r, alias);
                }
                r.push(']');
            }
            r.push('}');
        }
        r.push(']');

        r.push_str(", \"sources\": [");
        for k in 0..self.rng.range(1, 2) {
            if k > 0 {
                r.push_str(", ");
            }
            let (publisher, base) = *self.rng.pick(PUBLISHERS);
            let title = format!("{victim} confirms cyber incident");
            r.push_str("{\"title\": ");
            push_json_str(r, &title);
            r.push_str(", \"publisher\": ");
            push_json_str(r, publisher);
            r.push_str(", \"url\": ");
            let url = format!("{base}{}-{year}-{k}", slug(&victim));
            push_json_str(r, &url);
            r.push_str(&format!(", \"date\": \"{year}-{month:02}\"}}"));
        }
        r.push(']');

        if !self.recent.is_empty() && self.rng.chance(5) {
            // Points back at a record written shortly before, as campaigns link incidents.
            r.push_str(", \"related\": [");
            push_json_str(r, &self.recent[self.rng.below(self.recent.len())]);
            r.push(']');
        }
        r.push_str(", \"tags\": [");
        for k in 0..self.rng.range(1, 3) {
            if k > 0 {
                r.push_str(", ");
            }
            r.push('"');
            let tag = *self.rng.pick(TAGS);
            r.push_str(tag);
            r.push('"');
        }
        r.push_str("]}");
        if self.recent.len() == RECENT {
            self.recent.swap_remove(n % RECENT);
        }
        self.recent.push(id);
    }

    /// A few hundred bytes to 3 KB of prose in paragraphs, from templates.
    fn description(&mut self, victim: &str, industry: &str, country: &str, groups: &[&Group]) -> String {
        // Most descriptions are a paragraph or two; one in ten runs to 2-3 KB. Records then average
        // about 1.7 KB, as real incident records do.
        let target = self.rng.range(150, 650) + if self.rng.chance(10) { self.rng.range(0, 2000) } else { 0 };
        let mut text = String::with_capacity(target + 400);
        let lowered = industry.to_lowercase();
        let fill = |text: &mut String, template: &str, rng: &mut SplitMix64| {
            let group = groups[rng.below(groups.len())];
            let alias = if group.aliases.is_empty() { group.name } else { *rng.pick(group.aliases) };
            let mut rest = template;
            while let Some(open) = rest.find('{') {
                text.push_str(&rest[..open]);
                let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
                text.push_str(match &rest[open + 1..close] {
                    "victim" => victim,
                    "industry" => &lowered,
                    "country" => country,
                    "actor" => group.name,
                    _ => alias,
                });
                rest = &rest[(close + 1).min(rest.len())..];
            }
            text.push_str(rest);
        };
        let opening = *self.rng.pick(OPENINGS);
        fill(&mut text, opening, &mut self.rng);
        text.push_str(". ");
        let mut sentences = 0;
        while text.len() < target {
            if sentences > 0 && sentences % 4 == 0 {
                // Paragraphs are separated by a blank line, as the native format says.
                text.truncate(text.trim_end().len());
                text.push_str("\n\n");
            }
            let template = match self.rng.below(8) {
                0 => *self.rng.pick(ATTRIBUTIONS),
                1 => *self.rng.pick(CLOSINGS),
                _ => *self.rng.pick(MIDDLES),
            };
            fill(&mut text, template, &mut self.rng);
            text.push(' ');
            sentences += 1;
        }
        text.truncate(text.trim_end().len());
        text
    }
}

/// `Summit Bank of Oregon` → `summit-bank-of-oregon`.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
