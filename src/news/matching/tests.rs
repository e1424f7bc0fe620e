use super::*;
use crate::news::Lang;

fn held(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|&code| code.to_owned()).collect()
}

fn about(title: &str, codes: &[&str]) -> Vec<String> {
    let held = held(codes);
    assets_in(title, &held, Lang::En).into_iter().map(str::to_owned).collect()
}

#[test]
fn codes_and_names_as_whole_words() {
    assert_eq!(about("Bitcoin Tops $140K as ETF Inflows Hit a High", &["BTC", "ETH"]), ["BTC"]);
    assert_eq!(about("ETH/BTC ratio falls", &["BTC", "ETH"]), ["ETH", "BTC"]);
    assert_eq!(about("$SOL and Solana's fees", &["SOL"]), ["SOL"]);
    assert_eq!(about("Ethernet Maker's Chips Power New Mining Rigs", &["ETH"]), Vec::<String>::new());
    assert_eq!(about("Bitcoiners gather in Lugano", &["BTC"]), Vec::<String>::new());
    assert_eq!(about("stETH depeg worries ease", &["ETH"]), Vec::<String>::new());
    assert_eq!(about("ETH2 deposits", &["ETH"]), Vec::<String>::new());
}

#[test]
fn names_match_in_any_case() {
    assert_eq!(about("El precio de bitcoin supera los USD 140.000", &["BTC", "USD"]), ["BTC"]);
    assert_eq!(about("ETHEREUM UPGRADE GOES LIVE", &["ETH"]), ["ETH"]);
}

#[test]
fn codes_match_only_as_written() {
    // Spanish and Portuguese words that are codes in capitals.
    assert_eq!(about("El sol y el viento alimentan la minería", &["SOL"]), Vec::<String>::new());
    assert_eq!(about("“Algo cambió en el mercado”: la subida de SOL", &["SOL", "ALGO"]), ["SOL"]);
    assert_eq!(about("Sei Network anuncia parceria; \"sei que vai subir\"", &["SEI"]), Vec::<String>::new());
    assert_eq!(about("SEI rallies after upgrade", &["SEI"]), ["SEI"]);
}

#[test]
fn common_words_never_match_by_code() {
    assert_eq!(about("Near Record Highs, Gold Outshines Bitcoin", &["NEAR"]), Vec::<String>::new());
    assert_eq!(about("NEAR FALLS AS ONE WHALE SELLS", &["NEAR", "ONE"]), Vec::<String>::new());
    assert_eq!(about("Gas fees fall; GAS prices too", &["GAS"]), Vec::<String>::new());
    assert_eq!(about("What Is an AI Agent? AI tokens rally", &["AI"]), Vec::<String>::new());
    assert_eq!(about("SEC approves ETF", &["SEC", "ETF"]), Vec::<String>::new());
    // By name they still do.
    assert_eq!(about("NEAR Protocol ships sharding", &["NEAR"]), ["NEAR"]);
    assert_eq!(about("Harmony ONE bridge reopens", &["ONE"]), ["ONE"]);
}

#[test]
fn fiat_is_never_matched() {
    assert_eq!(about("USD weakens as MXN and BRL gain", &["USD", "MXN", "BRL"]), Vec::<String>::new());
    assert_eq!(about("Real digital: Banco Central adia o Drex", &["BRL"]), Vec::<String>::new());
}

#[test]
fn the_longest_name_wins_whether_held_or_not() {
    assert_eq!(about("Bitcoin Cash hard fork date set", &["BTC"]), Vec::<String>::new());
    assert_eq!(about("Bitcoin Cash hard fork date set", &["BTC", "BCH"]), ["BCH"]);
    assert_eq!(about("Ethereum Classic and Ethereum both rise", &["ETH", "ETC"]), ["ETC", "ETH"]);
    assert_eq!(about("Bitcoin Cash and Bitcoin both rise", &["BTC"]), ["BTC"]);
}

#[test]
fn names_per_language() {
    let held = held(&["ETH"]);
    assert_eq!(assets_in("Ether's staking queue empties", &held, Lang::En), ["ETH"]);
    assert_eq!(assets_in("Ether's staking queue empties", &held, Lang::Pt), Vec::<&str>::new());
    assert_eq!(assets_in("Ethereum: o que muda com a Fusaka", &held, Lang::Pt), ["ETH"]);
}

#[test]
fn each_asset_once_in_title_order_and_only_held_ones() {
    assert_eq!(about("Tether mints another $1 billion USDT on Tron", &["TRX", "USDT"]), ["USDT", "TRX"]);
    assert_eq!(about("Dogecoin jumps; DOGE leads, Shiba Inu and PEPE trail", &["DOGE", "PEPE"]), ["DOGE", "PEPE"]);
    assert_eq!(about("Anything", &[]), Vec::<String>::new());
}

#[test]
fn every_named_code_is_one_name_table_entry_per_code_and_names_are_ascii() {
    for asset in NAMES {
        assert!(asset.everywhere.iter().chain(asset.by_language.iter().flat_map(|names| names.iter())).all(|name| name.is_ascii()));
    }
    let mut codes: Vec<&str> = NAMES.iter().map(|asset| asset.code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), NAMES.len());
}

#[test]
fn polygon_is_pol_and_matic_only_its_code() {
    assert_eq!(about("Polygon upgrade ships", &["POL", "MATIC"]), ["POL"]);
    assert_eq!(about("Polygon upgrade ships", &["MATIC"]), Vec::<String>::new());
    assert_eq!(about("MATIC holders migrate as the Polygon upgrade ships", &["MATIC", "POL"]), ["MATIC", "POL"]);
}
