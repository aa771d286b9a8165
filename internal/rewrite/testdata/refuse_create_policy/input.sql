CREATE POLICY p ON users USING (email = 'policy@example.com')
