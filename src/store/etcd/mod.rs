//! etcd as a store: a blocking client for etcd's v3 JSON gateway (no protoc,
//! no async runtime), the store built on it, and, for tests, real etcd
//! clusters started on loopback.

pub mod client;
mod store;

pub use store::{failure, EtcdStore};

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
pub(crate) mod test_cluster;

/// Stores for the library's tests: fresh prefixes of the shared cluster.
#[cfg(test)]
pub(crate) mod for_tests {
    use super::client::{Client, EtcdConfig};
    use super::test_cluster::TestCluster;

    /// A store under a fresh prefix of `cluster`.
    pub(crate) fn open(cluster: &TestCluster, prefix: &str) -> super::EtcdStore {
        let config = EtcdConfig::new(cluster.endpoints());
        let client = Client::connect(&config).expect("etcd client");
        let address = format!("etcd://{}/{prefix}", cluster.endpoints().join(","));
        super::EtcdStore::new(client, prefix, address)
    }

    /// A store under a fresh prefix of the cluster shared by this test binary.
    pub(crate) fn fresh_prefix() -> crate::store::SharedStore {
        let prefix = format!("t/{}", crate::vault::format::Ref::random());
        std::sync::Arc::new(open(TestCluster::shared(), &prefix))
    }
}
