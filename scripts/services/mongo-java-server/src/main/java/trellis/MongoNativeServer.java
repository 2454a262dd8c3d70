package trellis;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * mongo-java-server on 127.0.0.1:PORT, in memory, reporting MongoDB 6.0 (wire version 17).
 *
 * Its highest built-in version is 4.0 (wire 7), which the Node driver 7 refuses (it needs
 * wire 8 or later); the memory backend accepts any MongoVersion, and the commands our store
 * uses behave the same under either. Prints "ready <port>" on stdout once it listens and shuts
 * down cleanly on SIGTERM.
 *
 * Usage: java -cp 'lib/*:trellis-mongo-native.jar' trellis.MongoNativeServer PORT
 */
public final class MongoNativeServer {
  private static final MongoVersion MONGO_6_0 =
      new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
          return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
          return 17;
        }
      };

  private MongoNativeServer() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 1 || !args[0].matches("\\d{1,5}")) {
      System.err.println("usage: MongoNativeServer PORT");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    MemoryBackend backend = new MemoryBackend();
    backend.version(MONGO_6_0);
    MongoServer server = new MongoServer(backend);
    server.bind("127.0.0.1", port);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdownNow();
                  stopped.countDown();
                }));
    System.out.println("ready " + port);
    System.out.flush();
    stopped.await();
  }
}
