pub mod gateway_process;
pub mod gateway_support;
pub mod mock_upstream;
pub mod provider_support;
pub mod relay_support;
pub mod replica_support;
pub mod test_db;
pub mod v1_support;
