public enum StoreInfo {}
