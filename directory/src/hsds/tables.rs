//! The flat tables both HSDS forms are built from and read into (`Tables`), and which tables
//! there are (`Table`, with each one's CSV columns): a table is named by the enum, so no name
//! can silently stand for another table, and a name read from outside that is not a table is
//! an error.

use serde_json::{Map, Value};

/// One record of a table: field name to value.
pub(super) type Row = Map<String, Value>;

/// A table of the datapackage, in the order the package lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `x_contactpoint_documents`: the documents and their titles.
    Documents,
    /// `organizations`.
    Organizations,
    /// `services`: the contact points.
    Services,
    /// `phones` of services.
    Phones,
    /// `schedules` of services.
    Schedules,
    /// `service_areas` of services.
    ServiceAreas,
    /// `languages` of services.
    Languages,
    /// `contacts` of services (a named person).
    Contacts,
}

/// A table name that is not one of [`Table`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a table of the datapackage")]
pub struct UnknownTable(pub String);

impl Table {
    /// Every table, in the datapackage's order.
    pub const ALL: [Table; 8] = [
        Table::Documents,
        Table::Organizations,
        Table::Services,
        Table::Phones,
        Table::Schedules,
        Table::ServiceAreas,
        Table::Languages,
        Table::Contacts,
    ];

    /// The tables of a service's sub-records, joined to it by `service_id`.
    pub const CHILDREN: [Table; 5] =
        [Table::Phones, Table::Schedules, Table::ServiceAreas, Table::Languages, Table::Contacts];

    /// The table's name: its CSV file's stem and its list's key in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Table::Documents => "x_contactpoint_documents",
            Table::Organizations => "organizations",
            Table::Services => "services",
            Table::Phones => "phones",
            Table::Schedules => "schedules",
            Table::ServiceAreas => "service_areas",
            Table::Languages => "languages",
            Table::Contacts => "contacts",
        }
    }

    /// The table's CSV columns, in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Documents => &["id", "x_contactpoint_kind", "x_contactpoint_title"],
            Table::Organizations => &[
                "id",
                "name",
                "description",
                "website",
                "x_contactpoint_document",
                "x_contactpoint_kind",
                "x_contactpoint_example",
                "x_contactpoint_name",
                "x_contactpoint_description",
            ],
            Table::Services => &[
                "id",
                "organization_id",
                "name",
                "description",
                "url",
                "email",
                "status",
                "assured_date",
                "assurer_email",
                "x_contactpoint_document",
                "x_contactpoint_roles",
                "x_contactpoint_chat_url",
                "x_contactpoint_audiences",
                "x_contactpoint_visibility",
                "x_contactpoint_example",
                "x_contactpoint_review_by",
                "x_contactpoint_retired",
                "x_contactpoint_name",
                "x_contactpoint_description",
                "x_contactpoint_hours_note",
            ],
            Table::Phones => &["id", "service_id", "number", "type", "description", "x_contactpoint_description"],
            Table::Schedules => &[
                "id",
                "service_id",
                "freq",
                "byday",
                "opens_at",
                "closes_at",
                "description",
                "x_contactpoint_kind",
                "x_contactpoint_description",
            ],
            Table::ServiceAreas => &["id", "service_id", "name", "x_contactpoint_area"],
            Table::Languages => &["id", "service_id", "code"],
            Table::Contacts => &["id", "service_id", "name"],
        }
    }
}

impl std::str::FromStr for Table {
    type Err = UnknownTable;
    fn from_str(name: &str) -> Result<Table, UnknownTable> {
        Table::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| UnknownTable(name.to_owned()))
    }
}

/// The rows of every table; each row remembers where it came from.
#[derive(Default)]
pub(super) struct Tables {
    documents: Vec<(String, Row)>,
    organizations: Vec<(String, Row)>,
    services: Vec<(String, Row)>,
    phones: Vec<(String, Row)>,
    schedules: Vec<(String, Row)>,
    service_areas: Vec<(String, Row)>,
    languages: Vec<(String, Row)>,
    contacts: Vec<(String, Row)>,
}

impl Tables {
    /// The rows of `table`.
    pub(super) fn rows(&self, table: Table) -> &Vec<(String, Row)> {
        match table {
            Table::Documents => &self.documents,
            Table::Organizations => &self.organizations,
            Table::Services => &self.services,
            Table::Phones => &self.phones,
            Table::Schedules => &self.schedules,
            Table::ServiceAreas => &self.service_areas,
            Table::Languages => &self.languages,
            Table::Contacts => &self.contacts,
        }
    }

    /// The rows of `table`, to add to.
    pub(super) fn rows_mut(&mut self, table: Table) -> &mut Vec<(String, Row)> {
        match table {
            Table::Documents => &mut self.documents,
            Table::Organizations => &mut self.organizations,
            Table::Services => &mut self.services,
            Table::Phones => &mut self.phones,
            Table::Schedules => &mut self.schedules,
            Table::ServiceAreas => &mut self.service_areas,
            Table::Languages => &mut self.languages,
            Table::Contacts => &mut self.contacts,
        }
    }

    /// Takes the rows of `table` out, leaving it empty.
    pub(super) fn take(&mut self, table: Table) -> Vec<(String, Row)> {
        std::mem::take(self.rows_mut(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_found_by_its_name_and_an_unknown_name_is_an_error() {
        for t in Table::ALL {
            assert_eq!(t.name().parse::<Table>(), Ok(t));
            assert_eq!(t.columns()[0], "id", "{t:?}");
        }
        assert_eq!("locations".parse::<Table>(), Err(UnknownTable("locations".into())));
        assert_eq!("".parse::<Table>(), Err(UnknownTable(String::new())));
        // Every table has its own rows.
        let mut tables = Tables::default();
        for (i, t) in Table::ALL.into_iter().enumerate() {
            for _ in 0..=i {
                tables.rows_mut(t).push((String::new(), Row::new()));
            }
        }
        for (i, t) in Table::ALL.into_iter().enumerate() {
            assert_eq!(tables.rows(t).len(), i + 1, "{t:?}");
        }
    }
}
