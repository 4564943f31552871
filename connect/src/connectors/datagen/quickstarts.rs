//! The Avro schemas (with avro-random-generator `arg.properties`) behind
//! Datagen's `quickstart` names, and the field each one uses as the key.
//! Field names, types and value ranges follow kafka-connect-datagen's
//! quickstart schemas so that generated records have the same shape.

pub struct Quickstart {
    pub name: &'static str,
    pub key_field: &'static str,
    pub schema: &'static str,
}

pub const QUICKSTARTS: &[Quickstart] = &[
    Quickstart {
        name: "ratings",
        key_field: "rating_id",
        schema: r#"{"namespace":"ksql","name":"ratings","type":"record","fields":[
 {"name":"rating_id","type":{"type":"long","arg.properties":{"iteration":{"start":1}}}},
 {"name":"user_id","type":{"type":"int","arg.properties":{"range":{"min":-1,"max":20}}}},
 {"name":"stars","type":{"type":"int","arg.properties":{"range":{"min":1,"max":5}}}},
 {"name":"route_id","type":{"type":"int","arg.properties":{"range":{"min":1,"max":9999}}}},
 {"name":"rating_time","type":{"type":"long","format_as_time":"unix_long","arg.properties":{"iteration":{"start":1,"step":12}}}},
 {"name":"channel","type":{"type":"string","arg.properties":{"options":["web","iOS","ios","iOS-test","android"]}}},
 {"name":"message","type":{"type":"string","arg.properties":{"options":["worst. flight. ever. #neveragain","Surprisingly good, maybe you are getting your mojo back at long last!","Exceeded all my expectations. Thank you !","meh","(expletive deleted)","is this as good as it gets? really ?","airport refurb looks great, will fly outta here more!","why is it so difficult to keep the bathrooms clean ?","thank you for the most friendly, helpful experience today at your new lounge","more peanuts please","your team here rocks!"]}}}]}"#,
    },
    Quickstart {
        name: "orders",
        key_field: "orderid",
        schema: r#"{"namespace":"ksql","name":"orders","type":"record","fields":[
 {"name":"ordertime","type":{"type":"long","arg.properties":{"range":{"min":1487715775521,"max":1519273364600}}}},
 {"name":"orderid","type":{"type":"int","arg.properties":{"iteration":{"start":0}}}},
 {"name":"itemid","type":{"type":"string","arg.properties":{"regex":"Item_[1-9][0-9]{0,2}"}}},
 {"name":"orderunits","type":{"type":"double","arg.properties":{"range":{"min":0.1,"max":10.0}}}},
 {"name":"address","type":{"name":"address","type":"record","fields":[
   {"name":"city","type":{"type":"string","arg.properties":{"regex":"City_[1-9]{0,2}"}}},
   {"name":"state","type":{"type":"string","arg.properties":{"regex":"State_[1-9]{0,2}"}}},
   {"name":"zipcode","type":{"type":"long","arg.properties":{"range":{"min":10000,"max":99999}}}}]}}]}"#,
    },
    Quickstart {
        name: "users",
        key_field: "userid",
        schema: r#"{"namespace":"ksql","name":"users","type":"record","fields":[
 {"name":"registertime","type":{"type":"long","arg.properties":{"range":{"min":1487715775521,"max":1519273364600}}}},
 {"name":"userid","type":{"type":"string","arg.properties":{"regex":"User_[1-9]"}}},
 {"name":"regionid","type":{"type":"string","arg.properties":{"regex":"Region_[1-9]"}}},
 {"name":"gender","type":{"type":"string","arg.properties":{"options":["MALE","FEMALE","OTHER"]}}}]}"#,
    },
    Quickstart {
        name: "pageviews",
        key_field: "viewtime",
        schema: r#"{"namespace":"ksql","name":"pageviews","type":"record","fields":[
 {"name":"viewtime","type":{"type":"long","format_as_time":"unix_long","arg.properties":{"iteration":{"start":1,"step":10}}}},
 {"name":"userid","type":{"type":"string","arg.properties":{"regex":"User_[1-9]"}}},
 {"name":"pageid","type":{"type":"string","arg.properties":{"regex":"Page_[1-9][0-9]"}}}]}"#,
    },
    Quickstart {
        name: "clickstream",
        key_field: "ip",
        schema: r#"{"namespace":"clickstream","name":"events","type":"record","fields":[
 {"name":"ip","type":{"type":"string","arg.properties":{"options":["111.152.45.45","111.203.236.146","111.168.57.122","111.249.79.93","111.90.225.227","111.173.165.103","111.145.8.144","111.245.174.248","222.152.45.45","222.203.236.146","222.168.57.122","222.249.79.93","122.152.45.245","122.203.236.246","122.168.57.222","233.152.245.45","233.203.236.146"]}}},
 {"name":"userid","type":{"type":"int","arg.properties":{"range":{"min":-1,"max":40}}}},
 {"name":"remote_user","type":{"type":"string","arg.properties":{"options":["-"]}}},
 {"name":"time","type":{"type":"string","format_as_time":"dd/MMM/yyyy:HH:mm:ss Z","arg.properties":{"iteration":{"start":1,"step":10}}}},
 {"name":"_time","type":{"type":"long","format_as_time":"unix_long","arg.properties":{"iteration":{"start":1,"step":10}}}},
 {"name":"request","type":{"type":"string","arg.properties":{"options":["GET /index.html HTTP/1.1","GET /site/user_status.html HTTP/1.1","GET /site/login.html HTTP/1.1","GET /images/track.png HTTP/1.1","GET /images/logo-small.png HTTP/1.1"]}}},
 {"name":"status","type":{"type":"string","arg.properties":{"options":["200","302","404","405","406","407"]}}},
 {"name":"bytes","type":{"type":"string","arg.properties":{"options":["278","1289","2048","4096","4006","4196","14096"]}}},
 {"name":"referrer","type":{"type":"string","arg.properties":{"options":["-"]}}},
 {"name":"agent","type":{"type":"string","arg.properties":{"options":["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)","Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36"]}}}]}"#,
    },
    Quickstart {
        name: "stock_trades",
        key_field: "symbol",
        schema: r#"{"namespace":"ksql","name":"StockTrade","doc":"Defines a hypothetical stock trade using some known test stock symbols.","type":"record","fields":[
 {"name":"side","doc":"A simulated trade side (buy or sell or short)","type":{"type":"string","arg.properties":{"options":["BUY","SELL"]}}},
 {"name":"quantity","doc":"A simulated random quantity of the trade","type":{"type":"int","arg.properties":{"range":{"min":1,"max":5000}}}},
 {"name":"symbol","doc":"Simulated stock symbols","type":{"type":"string","arg.properties":{"options":["ZBZX","ZJZZT","ZTEST","ZVV","ZVZZT","ZWZZT","ZXZZT"]}}},
 {"name":"price","doc":"A simulated random trade price in pennies","type":{"type":"int","arg.properties":{"range":{"min":5,"max":1000}}}},
 {"name":"account","doc":"Simulated accounts assigned to the trade","type":{"type":"string","arg.properties":{"options":["ABC123","LMN456","XYZ789"]}}},
 {"name":"userid","doc":"The simulated user who executed the trade","type":{"type":"string","arg.properties":{"regex":"User_[1-9]"}}}]}"#,
    },
    Quickstart {
        name: "inventory",
        key_field: "id",
        schema: r#"{"namespace":"ksql","name":"inventory","type":"record","fields":[
 {"name":"id","type":{"type":"long","arg.properties":{"iteration":{"start":0}}}},
 {"name":"quantity","type":{"type":"long","arg.properties":{"iteration":{"start":0}}}},
 {"name":"productid","type":{"type":"long","arg.properties":{"iteration":{"start":0}}}}]}"#,
    },
    Quickstart {
        name: "product",
        key_field: "id",
        schema: r#"{"namespace":"ksql","name":"product","type":"record","fields":[
 {"name":"id","type":{"type":"long","arg.properties":{"iteration":{"start":0}}}},
 {"name":"name","type":{"type":"string","arg.properties":{"iteration":{"start":0}}}},
 {"name":"description","type":{"type":"string","arg.properties":{"iteration":{"start":0}}}},
 {"name":"price","type":{"type":"double","arg.properties":{"iteration":{"start":0}}}}]}"#,
    },
    Quickstart {
        name: "purchases",
        key_field: "id",
        schema: r#"{"namespace":"datagen.example","name":"purchase","type":"record","fields":[
 {"name":"id","type":{"type":"long","arg.properties":{"iteration":{"start":0}}}},
 {"name":"item_type","type":{"type":"string","arg.properties":{"options":["boots","shirt","knife","saucepan","table","chair","clock","frame","guitar","thermometer","scarf","doormat","vase","clippers","game","towels"]}}},
 {"name":"quantity","type":{"type":"long","arg.properties":{"range":{"min":1,"max":10}}}},
 {"name":"price_per_unit","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2,"arg.properties":{"range":{"min":10.0,"max":50.0}}}}]}"#,
    },
    Quickstart {
        name: "clickstream_users",
        key_field: "user_id",
        schema: r#"{"namespace":"clickstream","name":"users","type":"record","fields":[
 {"name":"user_id","type":{"type":"int","arg.properties":{"iteration":{"start":1}}}},
 {"name":"username","type":{"type":"string","arg.properties":{"regex":"[a-zA-Z]{4,8}_[0-9]{2,4}"}}},
 {"name":"registered_at","type":{"type":"long","arg.properties":{"range":{"min":1407645330000,"max":1502339792000}}}},
 {"name":"first_name","type":{"type":"string","arg.properties":{"options":["Elwyn","Curran","Hanson","Woodrow","Ferd","Reeva","Antonio","Arlyne","Dimitri","Oriana","Abdel","Greta"]}}},
 {"name":"last_name","type":{"type":"string","arg.properties":{"options":["Vanyard","Vears","Garrity","Trice","Tomini","Jushcke","De Banke","Pask","Rockhill","Romagosa","Adicot","Lalonde"]}}},
 {"name":"city","type":{"type":"string","arg.properties":{"options":["Palo Alto","San Francisco","Raleigh","London","Frankfurt","New York"]}}},
 {"name":"level","type":{"type":"string","arg.properties":{"options":["Gold","Silver","Platinum"]}}}]}"#,
    },
];

pub fn find(name: &str) -> Option<&'static Quickstart> {
    let n = name.trim().to_lowercase();
    QUICKSTARTS.iter().find(|q| q.name == n)
}
