//! The demo data set: the seed's example user exactly as the legacy documentation shows it, a few
//! dozen varied users (Turkish names, private and deactivated accounts, a block, a pending
//! request) and enough followers to give the example user its 128 followers and 256 followings
//! as real relations. Seeding is idempotent: ids are fixed, and a second run rewrites the same
//! rows.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::db::Db;
use crate::db::bulk::{BlockRecord, BulkWriter, Dataset, FollowRecord, MediaRecord, UserRecord};
use crate::profiles::ObjectId;

/// The id of the seed's example user.
pub const EXAMPLE_USER_ID: &str = "507f1f77bcf86cd799439011";
/// The id of the example user's profile photo.
pub const EXAMPLE_PHOTO_ID: &str = "507f1f77bcf86cd799439012";
/// A private demo user, for trying follow requests.
pub const PRIVATE_USER_ID: &str = "64f0c0de0000000000000002";

struct Person {
    name: &'static str,
    surname: &'static str,
    username: &'static str,
    status: &'static str,
    interests: &'static [&'static str],
    expertise: Option<&'static str>,
    age: Option<i32>,
    price: i32,
    bio: Option<&'static str>,
    private: bool,
    deactivated: bool,
}

const fn person(name: &'static str, surname: &'static str, username: &'static str) -> Person {
    Person {
        name,
        surname,
        username,
        status: "available",
        interests: &[],
        expertise: None,
        age: None,
        price: 0,
        bio: None,
        private: false,
        deactivated: false,
    }
}

const PEOPLE: &[Person] = &[
    Person {
        status: "busy",
        interests: &["müzik", "seyahat", "fotoğrafçılık"],
        expertise: Some("Fotoğrafçı"),
        age: Some(27),
        price: 15,
        bio: Some("İstanbul'dan gün batımı fotoğrafları."),
        ..person("Ayşe", "Yılmaz", "ayse.yilmaz")
    },
    Person {
        private: true,
        interests: &["kitap", "yoga"],
        age: Some(31),
        bio: Some("Hesabım gizli; takip isteği gönderin."),
        ..person("Elif", "Demir", "elif_demir")
    },
    Person {
        status: "away",
        interests: &["futbol", "e-spor"],
        expertise: Some("Yazılım geliştirici"),
        age: Some(35),
        price: 40,
        ..person("İsmail", "Çelik", "ismail.celik")
    },
    Person {
        interests: &["dans", "moda"],
        age: Some(24),
        price: 5,
        bio: Some("Dansçı ve koreograf."),
        ..person("Gülşen", "Öztürk", "gulsen_ozturk")
    },
    Person {
        status: "offline",
        interests: &["satranç"],
        expertise: Some("Satranç ustası"),
        age: Some(42),
        price: 100,
        ..person("Ömer", "Şahin", "omer.sahin")
    },
    Person {
        interests: &["yemek", "şarap"],
        expertise: Some("Şef"),
        age: Some(38),
        price: 60,
        bio: Some("Ege mutfağı üzerine canlı yayınlar."),
        ..person("Zeynep", "Kaya", "zeynepkaya")
    },
    Person {
        status: "busy",
        interests: &["gaming", "streaming"],
        expertise: Some("Streamer"),
        age: Some(22),
        price: 250,
        ..person("Mehmet", "Arslan", "mehmet_arslan")
    },
    Person {
        interests: &["art", "design"],
        expertise: Some("Illustrator"),
        age: Some(29),
        price: 30,
        bio: Some("Drawing live every Friday."),
        ..person("Emma", "Johnson", "emma.draws")
    },
    Person {
        status: "away",
        interests: &["fitness", "nutrition"],
        expertise: Some("Personal trainer"),
        age: Some(33),
        price: 45,
        ..person("Lucas", "Martin", "lucas_fit")
    },
    Person {
        interests: &["guitar", "jazz", "blues"],
        expertise: Some("Musician"),
        age: Some(47),
        price: 80,
        ..person("Sofia", "Rossi", "sofia.rossi")
    },
    Person {
        status: "offline",
        private: true,
        interests: &["poetry"],
        age: Some(26),
        ..person("Can", "Aydın", "can.aydin")
    },
    Person {
        deactivated: true,
        bio: Some("This account was closed."),
        ..person("Deniz", "Koç", "deniz_koc")
    },
    Person {
        interests: &["travel", "languages"],
        expertise: Some("Translator"),
        age: Some(30),
        price: 20,
        bio: Some("English ⇄ Türkçe ⇄ Deutsch."),
        ..person("Hannah", "Schmidt", "hannah.schmidt")
    },
    Person {
        status: "busy",
        interests: &["finance", "crypto"],
        expertise: Some("Analyst"),
        age: Some(36),
        price: 500,
        ..person("Kerem", "Yıldız", "kerem_yildiz")
    },
    Person {
        interests: &["makeup", "skincare"],
        expertise: Some("Makeup artist"),
        age: Some(25),
        price: 35,
        ..person("Selin", "Aksoy", "selin.aksoy")
    },
    Person {
        status: "away",
        interests: &["astronomy"],
        expertise: Some("Astrophysicist"),
        age: Some(52),
        price: 70,
        bio: Some("Looking up since 1992."),
        ..person("Ali", "Vural", "ali.vural")
    },
    Person {
        interests: &["cooking"],
        age: Some(19),
        ..person("Mia", "Garcia", "mia_garcia")
    },
    Person {
        status: "offline",
        interests: &["cars", "motorsport"],
        age: Some(44),
        price: 10,
        ..person("Burak", "Polat", "burak.polat")
    },
    Person {
        interests: &["languages", "history", "philosophy"],
        expertise: Some("Teacher"),
        age: Some(58),
        price: 25,
        ..person("İpek", "Güneş", "ipek.gunes")
    },
    Person {
        status: "busy",
        interests: &["comedy"],
        expertise: Some("Stand-up comedian"),
        age: Some(34),
        price: 150,
        bio: Some("Live shows every night at 22:00 (UTC+03:00)."),
        ..person("Onur", "Kılıç", "onur.kilic")
    },
    Person {
        interests: &["gardening"],
        age: Some(67),
        ..person("Fatma", "Erdoğan", "fatma_erdogan")
    },
    Person {
        interests: &["surfing", "photography"],
        expertise: Some("Surf instructor"),
        age: Some(28),
        price: 55,
        ..person("Noah", "Wilson", "noah.surfs")
    },
    Person {
        status: "away",
        interests: &["tarot"],
        age: Some(40),
        price: 90,
        ..person("Yasemin", "Doğan", "yasemin.dogan")
    },
    Person {
        interests: &["coding", "rust", "open source"],
        expertise: Some("Systems engineer"),
        age: Some(31),
        price: 120,
        bio: Some("Writing a GraphQL server, live."),
        ..person("Ahmet", "Uçar", "ahmet.ucar")
    },
    Person {
        status: "offline",
        ..person("Troll", "Account", "troll.account")
    },
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Berk", "Cem", "Defne", "Ece", "Efe", "Ela", "Kaan", "Lara", "Mert", "Nil", "Oya",
    "Sarp", "Tuna", "Umut", "Yağmur", "Alex", "Sam", "Kim", "Leo",
];
const SURNAMES: &[&str] = &[
    "Acar", "Bulut", "Çınar", "Duman", "Ekin", "Karaca", "Oral", "Sezer", "Taş", "Ünal", "Brown",
    "Lee", "Novak", "Silva", "Costa",
];
/// Fillers make the example user's 128 followers and 256 followings real relations.
const FILLERS: u64 = 300;

fn id(prefix: &str, n: u64) -> String {
    format!("{prefix}{n:016x}")
}

fn person_id(index: usize) -> String {
    id("64f0c0de", index as u64 + 1)
}

fn birth_date(age: i32, today: NaiveDate) -> Option<NaiveDate> {
    // The birthday falls today, so the age holds for a whole year after seeding.
    NaiveDate::from_ymd_opt(today.year() - age, today.month(), today.day())
        .or_else(|| NaiveDate::from_ymd_opt(today.year() - age, 3, 1))
}

fn created_at(id: &str) -> DateTime<Utc> {
    ObjectId::parse(id)
        .map(|o| o.timestamp())
        .unwrap_or_default()
}

fn user(id: String, person: &Person, today: NaiveDate) -> UserRecord {
    let created = created_at(&id);
    UserRecord {
        id,
        name: person.name.to_owned(),
        surname: person.surname.to_owned(),
        username: person.username.to_owned(),
        availability_status: person.status.to_owned(),
        interests: person.interests.iter().map(|s| (*s).to_owned()).collect(),
        expertise: person.expertise.map(str::to_owned),
        birth_date: person.age.and_then(|age| birth_date(age, today)),
        minute_price_in_live_stream: person.price,
        bio: person.bio.map(str::to_owned),
        instagram: None,
        snapchat: None,
        x: None,
        tiktok: None,
        facebook: None,
        is_private: person.private,
        deactivated_at: person.deactivated.then_some(created),
        created_at: created,
        updated_at: created,
    }
}

fn follow(follower: &str, followee: &str, status: &str, at: DateTime<Utc>) -> FollowRecord {
    FollowRecord {
        follower_id: follower.to_owned(),
        followee_id: followee.to_owned(),
        status: status.to_owned(),
        created_at: at,
    }
}

/// The demo data set, with birth dates that give the documented ages on `today`.
pub fn demo_data(today: NaiveDate) -> Dataset {
    let mut data = Dataset::default();
    let john_created = created_at(EXAMPLE_USER_ID);
    data.users.push(UserRecord {
        id: EXAMPLE_USER_ID.to_owned(),
        name: "John".to_owned(),
        surname: "Doe".to_owned(),
        username: "johndoe123".to_owned(),
        availability_status: "available".to_owned(),
        interests: vec!["music".to_owned(), "sports".to_owned()],
        expertise: Some("designer".to_owned()),
        birth_date: birth_date(28, today),
        minute_price_in_live_stream: 1,
        bio: Some("Passionate about technology and travel".to_owned()),
        instagram: Some("myinstagram".to_owned()),
        snapchat: Some("mysnapchat".to_owned()),
        x: Some("mytwitterx".to_owned()),
        tiktok: Some("mytiktok".to_owned()),
        facebook: Some("myfacebook".to_owned()),
        is_private: false,
        deactivated_at: None,
        created_at: john_created,
        updated_at: john_created,
    });
    data.media.push(MediaRecord {
        id: EXAMPLE_PHOTO_ID.to_owned(),
        owner_id: EXAMPLE_USER_ID.to_owned(),
        url: "https://example.com/profile.jpg".to_owned(),
        media_type: "image".to_owned(),
        created_at: created_at(EXAMPLE_PHOTO_ID),
    });
    data.photos.push((
        EXAMPLE_USER_ID.to_owned(),
        Some(EXAMPLE_PHOTO_ID.to_owned()),
    ));

    for (index, p) in PEOPLE.iter().enumerate() {
        let user_id = person_id(index);
        data.users.push(user(user_id.clone(), p, today));
        if index % 3 != 2 {
            let media_id = id("64f0ed1a", index as u64 + 1);
            data.media.push(MediaRecord {
                id: media_id.clone(),
                owner_id: user_id.clone(),
                url: format!("https://cdn.example.com/u/{}/avatar.jpg", p.username),
                media_type: if index % 5 == 4 { "video" } else { "image" }.to_owned(),
                created_at: created_at(&user_id),
            });
            data.photos.push((user_id, Some(media_id)));
        }
    }

    let fillers: Vec<String> = (0..FILLERS).map(|n| id("64f0fa17", n)).collect();
    for (n, filler) in fillers.iter().enumerate() {
        let first = FIRST_NAMES[n % FIRST_NAMES.len()];
        let last = SURNAMES[(n / FIRST_NAMES.len()) % SURNAMES.len()];
        let username = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), n)
            .replace(['ğ', 'ı', 'ş', 'ç', 'ü', 'ö'], "x");
        let filler_person = Person {
            status: ["available", "busy", "away", "offline"][n % 4],
            age: Some(18 + (n % 50) as i32),
            price: (n % 7) as i32 * 5,
            ..person(first, last, "")
        };
        let mut record = user(filler.clone(), &filler_person, today);
        record.username = username;
        data.users.push(record);
    }

    let at = |n: usize| john_created + chrono::Duration::minutes(n as i64);
    // The example user follows 256 users and is followed by 128.
    for (n, filler) in fillers.iter().take(256).enumerate() {
        data.follows
            .push(follow(EXAMPLE_USER_ID, filler, "accepted", at(n)));
    }
    for (n, filler) in fillers.iter().skip(150).take(128).enumerate() {
        data.follows
            .push(follow(filler, EXAMPLE_USER_ID, "accepted", at(n)));
    }
    let ayse = person_id(0);
    let elif = person_id(1);
    let ismail = person_id(2);
    let mehmet = person_id(6);
    let troll = person_id(PEOPLE.len() - 1);
    // Elif is private: Ayşe is an accepted follower, Mehmet's request waits.
    data.follows.push(follow(&ayse, &elif, "accepted", at(1)));
    data.follows.push(follow(&mehmet, &elif, "pending", at(2)));
    data.follows.push(follow(&ayse, &ismail, "accepted", at(4)));
    for (index, _) in PEOPLE.iter().enumerate().skip(2).take(10) {
        data.follows
            .push(follow(&person_id(index), &ayse, "accepted", at(10 + index)));
    }
    // Ayşe has blocked the troll account.
    data.blocks.push(BlockRecord {
        blocker_id: ayse,
        blocked_id: troll,
        created_at: at(20),
    });
    data
}

/// What seeding wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedSummary {
    /// Rows inserted.
    pub inserted: usize,
    /// Rows that existed and were rewritten.
    pub updated: usize,
}

/// Writes the demo data set (idempotent).
pub async fn seed(db: &Db) -> anyhow::Result<SeedSummary> {
    let data = demo_data(Utc::now().date_naive());
    let to_anyhow = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let mut writer = BulkWriter::connect(db).await.map_err(to_anyhow)?;
    let written = writer.write_all(&data).await.map_err(to_anyhow)?;
    if let Some((_, reason)) = written.skipped.first() {
        anyhow::bail!("demo data rejected: {reason}");
    }
    let summary = SeedSummary {
        inserted: usize::try_from(written.inserted).unwrap_or(usize::MAX),
        updated: usize::try_from(written.updated).unwrap_or(usize::MAX),
    };
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::rules;

    #[test]
    fn demo_users_follow_the_profile_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
        let data = demo_data(today);
        let mut usernames = std::collections::HashSet::new();
        for user in &data.users {
            assert!(ObjectId::parse(&user.id).is_some(), "{}", user.id);
            assert!(
                rules::username("username", &user.username).is_ok(),
                "{}",
                user.username
            );
            assert!(
                usernames.insert(user.username.to_ascii_lowercase()),
                "{}",
                user.username
            );
            assert!(rules::required_name("name", &user.name).is_ok());
            if let Some(birth) = user.birth_date {
                assert!(rules::birth_date("birthDate", &birth.to_string(), today).is_ok());
            }
        }
        let john_following = data
            .follows
            .iter()
            .filter(|f| f.follower_id == EXAMPLE_USER_ID)
            .count();
        let john_followers = data
            .follows
            .iter()
            .filter(|f| f.followee_id == EXAMPLE_USER_ID)
            .count();
        assert_eq!((john_followers, john_following), (128, 256));
        assert_eq!(person_id(1), PRIVATE_USER_ID);
    }
}
