// The snippet names its key serializer `org.apache.kafka.serializers.StringSerializer`
// ("the key serializer's package is as shown there"), a class kafka-clients
// does not have: it is org.apache.kafka.common.serialization.StringSerializer.
// So that the snippet runs unchanged, the wrapper puts this alias on the
// classpath. Without it KafkaProducer's constructor fails with
// "Invalid value org.apache.kafka.serializers.StringSerializer for
// configuration key.serializer: Class ... could not be found".
package org.apache.kafka.serializers;

public class StringSerializer extends org.apache.kafka.common.serialization.StringSerializer {
}
