//! Effective rule levels: the catalogue's defaults, then configuration, then `-A/-W/-D` flags,
//! applied in one place.
use std::collections::BTreeMap;

use crate::catalogue::Catalogue;
use crate::diag::Level;

#[derive(Debug, Clone, Default)]
pub struct Levels {
    by_rule: BTreeMap<String, Level>,
}

impl Levels {
    pub fn from_catalogue(catalogue: &Catalogue) -> Levels {
        Levels {
            by_rule: catalogue
                .rules
                .iter()
                .map(|r| (r.id.clone(), r.level))
                .collect(),
        }
    }

    pub fn set(&mut self, rule: &str, level: Level) {
        self.by_rule.insert(rule.to_owned(), level);
    }

    /// Sets every rule (`-D all`).
    pub fn set_all(&mut self, level: Level) {
        for l in self.by_rule.values_mut() {
            *l = level;
        }
    }

    pub fn get(&self, rule: &str) -> Level {
        self.by_rule.get(rule).copied().unwrap_or(Level::Warn)
    }

    pub fn any_enabled(&self) -> bool {
        self.by_rule.values().any(|l| *l != Level::Allow)
    }
}
