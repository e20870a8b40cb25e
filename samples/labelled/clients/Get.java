// Fetches one URL with the JDK's java.net.http.HttpClient (HTTP/1.1).
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class Get {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create(args[0])).build();
        client.send(req, HttpResponse.BodyHandlers.discarding());
    }
}
