//! The built-in price table as `GET /api/option/prices` shows it: each entry's list prices
//! and ratios beside the ratios a request for that model is priced with now. Kept out of
//! `price_table` because it asks `billing` for those ratios, and `billing` reads the table.

use super::billing::Prices;
use super::price_table::{TableRatios, TABLE};
use crate::services::options::OptionsSnapshot;

/// One row of the built-in price table as `GET /api/option/prices` shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PriceRow {
    pub model: &'static str,
    /// List prices, USD per million tokens.
    pub usd_per_million: UsdPrices,
    /// The table's ratios.
    pub builtin: TableRatios,
    /// What a request for this model is priced with now (the operator's ratios win;
    /// group ratio not included).
    pub effective: TableRatios,
}

#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct UsdPrices {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
    pub cache_write_1h: f64,
}

/// The built-in table with the ratios in force for each model.
pub fn price_list(o: &OptionsSnapshot) -> Vec<PriceRow> {
    TABLE
        .iter()
        .map(|p| {
            let e = Prices::lookup(o, p.model, "");
            PriceRow {
                model: p.model,
                usd_per_million: UsdPrices {
                    input: p.input,
                    output: p.output,
                    cache_read: p.cache_read,
                    cache_write: p.cache_write,
                    cache_write_1h: p.cache_write_1h,
                },
                builtin: p.ratios(),
                effective: TableRatios {
                    model_ratio: e.model_ratio,
                    completion_ratio: e.completion_ratio,
                    cache_read_ratio: e.cache_read_ratio,
                    cache_write_ratio: e.cache_write_ratio,
                    cache_write_1h_ratio: e.cache_write_1h_ratio,
                },
            }
        })
        .collect()
}
