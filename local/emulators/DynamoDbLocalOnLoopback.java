import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Development only: starts DynamoDB Local (same jar, same arguments) listening on 127.0.0.1
 * instead of every interface, which DynamoDB Local offers no option for. It also ends when
 * its standard input closes: the Node process that started it holds the other end, so the
 * database never outlives that process, however it ends (SIGKILL included).
 * Run in Java's source-file mode: java -cp <DynamoDBLocal.jar>:<DynamoDBLocal_lib/*> DynamoDbLocalOnLoopback.java -port N ...
 */
public class DynamoDbLocalOnLoopback {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    for (Connector connector : jetty.getConnectors()) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // Nothing is ever sent; only the end of the stream matters.
        }
      } catch (Exception ignored) {
        // A broken pipe ends the parent's hold just the same.
      }
      Runtime.getRuntime().halt(0);
    });
    watchdog.setDaemon(true);
    watchdog.start();
    proxy.start();
    System.out.println("DynamoDB Local listening on 127.0.0.1");
  }
}
